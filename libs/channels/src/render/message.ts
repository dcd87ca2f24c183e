import { EVENT_CATALOGUE, type EventLevel, type EventPerson, type EventProject, type HeraldEvent } from '@herald/domain';
import { ELLIPSIS, oneLine, truncateChars } from './text';

export type Locale = 'en' | 'zh';

export interface MessageFact {
  name: string;
  value: string;
}

/**
 * What every channel shows (SPEC §7), before any platform's markup, escaping or limits: the
 * title in the webhook's language, the description, the issue or rollout tile, the facts and the
 * link. Texts are raw; each adapter escapes and cuts them for its platform.
 */
export interface MessageView {
  level: EventLevel;
  locale: Locale;
  title: string;
  /** Emoji prefix for the level (none for INFO). */
  emoji: string;
  /** The level's colour, `#rrggbb`. */
  color: string;
  description: string;
  tile: { title: string; description: string } | null;
  facts: MessageFact[];
  /**
   * What ends a cut description: an ellipsis plus, when there is a link, a hint that the rest is
   * behind it (as Bytebase's "... (view details in Bytebase)").
   */
  more: string;
  /** `Name (email)` of whoever acted, or null. */
  actor: string | null;
  link: string | null;
  linkLabel: string;
  mentions: EventPerson[];
}

/** Bytebase's colours and emoji, so teams moving over see the same signals. */
export const LEVEL_STYLE: Record<EventLevel, { emoji: string; color: string }> = {
  INFO: { emoji: '', color: '#1264A3' },
  SUCCESS: { emoji: '✅', color: '#2EB67D' },
  WARN: { emoji: '⚠️', color: '#ECB22E' },
  ERROR: { emoji: '❗', color: '#E01E5A' },
};

type Label = 'project' | 'issue' | 'status' | 'creator' | 'approvers' | 'rollout' | 'environment' | 'stage' | 'task' | 'actor' | 'link' | 'more';
const LABELS: Record<Locale, Record<Label, string>> = {
  en: {
    project: 'Project', issue: 'Issue', status: 'Status', creator: 'Creator', approvers: 'Approvers', rollout: 'Rollout', environment: 'Environment',
    stage: 'Stage', task: 'Task', actor: 'By', link: 'View details', more: `${ELLIPSIS} (see View details for the full text)`,
  },
  zh: {
    project: '项目', issue: '工单', status: '状态', creator: '创建者', approvers: '审批人', rollout: '发布', environment: '环境',
    stage: '阶段', task: '任务', actor: '操作人', link: '查看详情', more: `${ELLIPSIS}（全文请见“查看详情”）`,
  },
};

/** An issue description inside the tile is a preview, as in Bytebase (450 characters). */
export const TILE_DESCRIPTION_CHARS = 450;
/** A fact is a short value; a long one is cut (Discord's field limit is 1024). */
export const FACT_VALUE_CHARS = 1024;

export function person(p: { name?: string | null; email?: string | null } | null | undefined): string | null {
  if (!p) return null;
  const name = p.name?.trim();
  const email = p.email?.trim();
  if (name && email) return `${name} (${email})`;
  return name || email || null;
}

/**
 * The event's title in `locale`. A Chinese webhook gets the catalogue's Chinese title when the
 * producer kept the default English one; a title the producer wrote itself is shown as written.
 */
export function localizedTitle(event: HeraldEvent, locale: Locale): string {
  if (locale !== 'zh') return event.title;
  const entry = EVENT_CATALOGUE[event.type];
  if (!entry) return event.title;
  return event.title === entry.title(event) ? entry.titleZh(event) : event.title;
}

export function buildMessage(event: HeraldEvent, project: EventProject, locale: Locale): MessageView {
  const l = LABELS[locale];
  const facts: MessageFact[] = [];
  const add = (name: string, value: string | null | undefined) => {
    const v = value == null ? '' : oneLine(String(value));
    if (v) facts.push({ name, value: truncateChars(v, FACT_VALUE_CHARS) });
  };
  add(l.project, project.name || project.key);
  const issue = event.issue ?? null;
  if (issue) {
    add(l.issue, [issue.key, issue.name].filter(Boolean).join(' '));
    add(l.status, issue.status);
    add(l.creator, person(issue.creator));
  }
  // Approvers are who must act on this event: the channel sees who was asked.
  if (event.type === 'bb.issue.approval.notify' && event.mentions?.length) {
    add(l.approvers, event.mentions.map((m) => m.name?.trim() || m.email?.trim()).filter(Boolean).join(', '));
  }
  if (event.rollout?.title) add(l.rollout, event.rollout.title);
  const environment = event.rollout?.environment ?? (typeof event.deployment?.environment === 'string' ? event.deployment.environment : null);
  add(l.environment, environment);
  if (event.stage?.name) add(l.stage, [event.stage.name, event.stage.status].filter(Boolean).join(' · '));
  if (event.task?.name) add(l.task, [event.task.name, event.task.status].filter(Boolean).join(' · '));
  const actor = person(event.actor);
  add(l.actor, actor);

  const link = event.link?.trim() || null;
  const more = link ? l.more : ELLIPSIS;
  let tile: MessageView['tile'] = null;
  if (issue?.name) tile = { title: oneLine(issue.name), description: truncateChars(issue.description?.trim() ?? '', TILE_DESCRIPTION_CHARS, more) };
  else if (event.rollout?.title) tile = { title: oneLine(event.rollout.title), description: '' };

  const { emoji, color } = LEVEL_STYLE[event.level] ?? LEVEL_STYLE.INFO;
  return {
    level: event.level,
    locale,
    title: oneLine(localizedTitle(event, locale)),
    emoji,
    color,
    description: (event.description ?? event.comment?.text ?? '').trim(),
    tile,
    facts,
    more,
    actor,
    link,
    linkLabel: l.link,
    mentions: event.mentions ?? [],
  };
}

/** `emoji title`, or just the title for INFO. */
export function titleWithEmoji(view: MessageView): string {
  return view.emoji ? `${view.emoji} ${view.title}` : view.title;
}

/** `#rrggbb` as the integer Discord wants. */
export function colorInt(hex: string): number {
  return parseInt(hex.replace('#', ''), 16);
}

/**
 * The national number DingTalk expects in `atMobiles` and `@` tokens: `+86 138-0000-0000` and
 * `8613800000000` become `13800000000`; other countries keep `+<cc>-<number>`, DingTalk's format
 * for non-mainland numbers. Anything that is not a phone number is dropped.
 */
export function dingtalkMobile(phone: string | null | undefined): string | null {
  if (!phone) return null;
  const trimmed = phone.trim();
  const plus = trimmed.startsWith('+') || trimmed.startsWith('00');
  const digits = trimmed.replace(/^00/, '').replace(/\D/g, '');
  if (digits.length < 5 || digits.length > 15) return null;
  if (!plus) return digits.length === 13 && digits.startsWith('86') ? digits.slice(2) : digits;
  if (digits.startsWith('86')) return digits.slice(2);
  // Without a numbering-plan table the country code length is unknown; 1 (NANP) and the 2-digit
  // codes cover DingTalk's markets, other numbers are passed whole.
  if (digits.startsWith('1')) return `+1-${digits.slice(1)}`;
  const cc3 = /^(852|853|886)/.exec(digits);
  if (cc3) return `+${cc3[1]}-${digits.slice(cc3[1].length)}`;
  return `+${digits.slice(0, 2)}-${digits.slice(2)}`;
}
