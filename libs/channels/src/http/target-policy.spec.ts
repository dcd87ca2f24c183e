import { ValidationFailed } from '@herald/domain';
import { checkUrlAgainstAllowList, forbiddenAddressRule, hostMatches } from './target-policy';

describe('forbiddenAddressRule (docs/contract.md §6.6)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.20.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'CGNAT'],
    ['224.0.0.1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fd00::1', 'private'],
    ['fe80::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:a00:1', 'private'],
    ['::127.0.0.1', 'reserved'],
    ['::808:808', 'reserved'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:c0a8:101::1', 'private'],
    ['2002:a9fe:a9fe:1:2:3:4:5', 'link-local'],
    ['64:ff9b:1::a00:1', 'private'],
    // Teredo (2001::/32): the client's IPv4 is the last 32 bits, inverted (127.0.0.1, 192.168.1.1, 169.254.169.254).
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'],
    ['2001::4136:e378:8000:63bf:3f57:fefe', 'private'],
    ['2001:0000:4136:E378:8000:63BF:5601:5601', 'link-local'],
    ['fec0::1', 'private'],
    ['FE80::1%eth0', 'link-local'],
    ['100.127.255.255', 'CGNAT'],
    ['239.255.255.250', 'multicast'],
    ['192.0.2.10', 'reserved'],
    ['2001:db8::1', 'reserved'],
  ])('%s -> %s', (address, rule) => {
    expect(forbiddenAddressRule(address)).toBe(rule);
  });

  it('decodes NAT64 addresses in dotted form', () => {
    expect(forbiddenAddressRule('64:ff9b::169.254.169.254')).toBe('link-local');
  });

  it('lets public addresses through', () => {
    expect(forbiddenAddressRule('93.184.216.34')).toBeNull();
    expect(forbiddenAddressRule('2606:4700::6810:85e5')).toBeNull();
    expect(forbiddenAddressRule('::ffff:93.184.216.34')).toBeNull();
    expect(forbiddenAddressRule('64:ff9b::5db8:d822')).toBeNull();
    expect(forbiddenAddressRule('2002:5db8:d822::1')).toBeNull();
    expect(forbiddenAddressRule('2001:0:4136:e378:8000:63bf:a247:27dd')).toBeNull();
    expect(forbiddenAddressRule('100.128.0.1')).toBeNull();
  });
});

describe('allow-lists', () => {
  it('matches exact hosts and leading-dot domains, case-insensitively', () => {
    expect(hostMatches('hooks.slack.com', ['hooks.slack.com'])).toBe(true);
    expect(hostMatches('HOOKS.SLACK.COM', ['hooks.slack.com'])).toBe(true);
    expect(hostMatches('evil-hooks.slack.com', ['hooks.slack.com'])).toBe(false);
    expect(hostMatches('x.webhook.office.com', ['.office.com'])).toBe(true);
    expect(hostMatches('office.com', ['.office.com'])).toBe(true);
    expect(hostMatches('office.com.evil.io', ['.office.com'])).toBe(false);
  });

  it('names the host and the rule, never the token', () => {
    try {
      checkUrlAgainstAllowList('https://evil.example.com/services/T/B/SECRETTOKEN', 'slack', ['hooks.slack.com'], []);
      fail('expected a ValidationFailed');
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationFailed);
      expect((err as Error).message).toContain('evil.example.com');
      expect((err as Error).message).not.toContain('SECRETTOKEN');
    }
  });

  it('refuses other schemes and credentials in the URL', () => {
    expect(() => checkUrlAgainstAllowList('ftp://x.example.com/', 'custom', null, [])).toThrow(/scheme/);
    expect(() => checkUrlAgainstAllowList('https://u:p@x.example.com/', 'custom', null, [])).toThrow(/credentials/);
  });

  it('adds HERALD_EXTRA_ALLOWED_HOSTS to every list', () => {
    expect(() => checkUrlAgainstAllowList('http://127.0.0.1:9/hook', 'slack', ['hooks.slack.com'], ['127.0.0.1'])).not.toThrow();
  });
});
