import { emailKey, fingerprint, type ImClient } from '../im/im-client';
import { ImApiError, type ImCaller } from '../im/im-http';
import type { MessageView } from '../render/message';
import { escapeSlackMrkdwn } from '../render/text';
import { slackAttachments } from './slack.adapter';

/** A Slack app's bot token (`PUT /v1/integrations/im/slack`). */
export type SlackImCredentials = { token: string };
type Creds = SlackImCredentials;

/** Slack: `users.lookupByEmail` → `conversations.open` → `chat.postMessage`, with the bot token. */
export class SlackImClient implements ImClient<Creds> {
  readonly provider = 'slack' as const;
  readonly maxBatch = 1;
  constructor(
    private readonly http: ImCaller,
    private readonly base: string,
  ) {}

  userKey = emailKey;
  identity = (c: Creds) => fingerprint('slack', c.token);

  private async api(
    c: Creds,
    method: string,
    req: { query?: Record<string, string>; form?: Record<string, string>; delivers?: boolean },
  ): Promise<Record<string, unknown>> {
    const url = `${this.base}/${method}${req.query ? `?${new URLSearchParams(req.query)}` : ''}`;
    const res = await this.http.call('slack', {
      method: req.form ? 'POST' : 'GET',
      url,
      headers: { authorization: `Bearer ${c.token}` },
      form: req.form,
      delivers: req.delivers,
    });
    if (res.status !== 200 || res.body.ok !== true) {
      throw Object.assign(new ImApiError('slack', `${method} failed: HTTP ${res.status} ${String(res.body.error ?? '')}`), { slackError: res.body.error });
    }
    return res.body;
  }

  async lookup(c: Creds, keys: string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (const email of keys) {
      try {
        const body = await this.api(c, 'users.lookupByEmail', { query: { email } });
        out.set(email, String((body.user as { id?: unknown } | undefined)?.id ?? '') || null);
      } catch (err) {
        if ((err as { slackError?: unknown }).slackError === 'users_not_found') out.set(email, null);
        else throw err;
      }
    }
    return out;
  }

  async send(c: Creds, userIds: string[], view: MessageView): Promise<{ failed: string[] }> {
    for (const user of userIds) {
      const opened = await this.api(c, 'conversations.open', { form: { users: user } });
      const channel = String((opened.channel as { id?: unknown } | undefined)?.id ?? '');
      if (!channel) throw new ImApiError('slack', 'conversations.open returned no channel');
      // `text` is read as mrkdwn (and shown in the notification): the title is escaped as in the attachment.
      await this.api(c, 'chat.postMessage', {
        form: { channel, text: escapeSlackMrkdwn(view.title), attachments: JSON.stringify(slackAttachments(view)) },
        delivers: true,
      });
    }
    return { failed: [] };
  }
}
