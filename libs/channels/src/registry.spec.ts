import { CHANNEL_ADAPTERS, buildRegistry, channelConfigProblems } from './registry';
import { customAdapter } from './custom/custom.adapter';
import { discordAdapter } from './discord/discord.adapter';
import { slackAdapter } from './slack/slack.adapter';

describe('channel registry', () => {
  it('holds the built-in adapters', () => {
    expect(() => buildRegistry(CHANNEL_ADAPTERS)).not.toThrow();
  });

  it('fails loudly when a type has two adapters', () => {
    expect(() => buildRegistry([customAdapter, customAdapter])).toThrow(/two channel adapters registered for type "custom"/);
  });

  it("fails loudly when an IM declaration is not its own type's, repeats or reserves a field, or has no usable default base", () => {
    const im = slackAdapter.im as NonNullable<typeof slackAdapter.im>;
    expect(() => buildRegistry([{ ...discordAdapter, im }])).toThrow(/"discord" declares an IM app that is for provider "slack"/);
    const field = im.credentialFields[0];
    expect(() => buildRegistry([{ ...slackAdapter, im: { ...im, credentialFields: [field, field] } }])).toThrow(/lists the credential field "token" twice/);
    expect(() => buildRegistry([{ ...slackAdapter, im: { ...im, credentialFields: [{ ...field, name: 'apiBaseUrl' }] } }])).toThrow(
      /reserved field name "apiBaseUrl"/,
    );
    expect(() => buildRegistry([{ ...slackAdapter, im: { ...im, credentialFields: [] } }])).toThrow(/no credential fields/);
    expect(() => buildRegistry([{ ...slackAdapter, im: { ...im, defaultApiBaseUrl: { api: { env: 'HERALD_X_API_URL', url: 'slack.com/api' } } } }])).toThrow(
      /unusable default API base "api"/,
    );
  });

  it('fails loudly when a required type has none', () => {
    expect(() => buildRegistry([customAdapter], ['custom', 'slack'])).toThrow(/no channel adapter registered for type\(s\): slack/);
  });
});

describe('ChannelRegistry', () => {
  it('has exactly one adapter for every webhook type of docs/contract.md §3.5', () => {
    const { ChannelRegistry } = jest.requireActual('./registry') as typeof import('./registry');
    const { CHANNEL_TYPES } = jest.requireActual('@herald/domain') as typeof import('@herald/domain');
    const registry = new ChannelRegistry();
    expect(registry.types().sort()).toEqual([...CHANNEL_TYPES].sort());
    for (const type of CHANNEL_TYPES) expect(registry.get(type).type).toBe(type);
  });
});

describe('channel config rules (owned by the adapters)', () => {
  const fields = (problems: Array<{ field: string }>) => problems.map((p) => p.field).sort();
  const ok = (type: string, config: Parameters<typeof channelConfigProblems>[1]) => expect(channelConfigProblems(type, config, [])).toEqual([]);

  it('accepts a secret only for the signing types, each in its own form', () => {
    ok('custom', { secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` });
    ok('dingtalk', { secret: 'SEC0123456789abcdef0123' });
    ok('feishu', { secret: 'anything' });
    ok('lark', { secret: 'anything' });
    expect(channelConfigProblems('dingtalk', { secret: 'nope' }, [])).toEqual([{ field: 'secret', message: expect.stringContaining('starts with SEC') }]);
    expect(channelConfigProblems('custom', { secret: 'whsec_short' }, [])).toEqual([{ field: 'secret', message: expect.stringContaining('24 to 64 bytes') }]);
    for (const type of ['slack', 'discord', 'teams', 'wecom', 'googlechat']) {
      expect(channelConfigProblems(type, { secret: 'x' }, [])).toEqual([
        { field: 'secret', message: `${type} webhooks are not signed; a secret is accepted for dingtalk, feishu, lark, custom` },
      ]);
    }
  });

  it('accepts directMessage only for the types with an IM client', () => {
    for (const type of ['slack', 'feishu', 'lark', 'wecom', 'dingtalk']) ok(type, { directMessage: true });
    for (const type of ['discord', 'teams', 'googlechat', 'custom']) {
      expect(fields(channelConfigProblems(type, { directMessage: true }, []))).toEqual(['directMessage']);
      ok(type, { directMessage: false });
    }
  });

  it('names every bad field at once', () => {
    const problems = channelConfigProblems('discord', { url: 'https://evil.example/x', secret: 's', directMessage: true }, []);
    expect(fields(problems)).toEqual(['directMessage', 'secret', 'url']);
  });

  it('without the extra hosts (the DTO pass) checks the URL form but leaves the host allow-list out', () => {
    expect(fields(channelConfigProblems('slack', { url: 'https://evil.example/services/x' }, []))).toEqual(['url']);
    ok('slack', { url: 'https://hooks.slack.com/services/x' });
    expect(fields(channelConfigProblems('slack', { url: 'ftp://hooks.slack.com/x' }, null))).toEqual(['url']);
    expect(fields(channelConfigProblems('googlechat', { url: 'https://chat.googleapis.com/v1/spaces/A/messages' }, null))).toEqual(['url']);
    expect(channelConfigProblems('slack', { url: 'https://evil.example/services/x' }, null)).toEqual([]);
    // An unknown type still gets the rules every type shares.
    expect(channelConfigProblems('nope', { url: 'ftp://x' }, null)).toEqual([{ field: 'url', message: 'url scheme "ftp" is not allowed: use http or https' }]);
  });
});
