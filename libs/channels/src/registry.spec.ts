import { CHANNEL_ADAPTERS, buildRegistry } from './registry';
import { customAdapter } from './custom/custom.adapter';

describe('channel registry', () => {
  it('holds the built-in adapters', () => {
    expect(() => buildRegistry(CHANNEL_ADAPTERS)).not.toThrow();
  });

  it('fails loudly when a type has two adapters', () => {
    expect(() => buildRegistry([customAdapter, customAdapter])).toThrow(/two channel adapters registered for type "custom"/);
  });

  it('fails loudly when a required type has none', () => {
    expect(() => buildRegistry([customAdapter], ['custom', 'slack'])).toThrow(/no channel adapter registered for type\(s\): slack/);
  });
});

describe('ChannelRegistry', () => {
  it('has exactly one adapter for every webhook type of SPEC §3', () => {
    const { ChannelRegistry } = jest.requireActual('./registry') as typeof import('./registry');
    const { CHANNEL_TYPES } = jest.requireActual('@herald/domain') as typeof import('@herald/domain');
    const registry = new ChannelRegistry();
    expect(registry.types().sort()).toEqual([...CHANNEL_TYPES].sort());
    for (const type of CHANNEL_TYPES) expect(registry.get(type).type).toBe(type);
  });
});
