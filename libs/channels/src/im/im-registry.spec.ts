import { ValidationFailed } from '@herald/domain';
import { ConfigError } from '@herald/platform';
import { CHANNEL_ADAPTERS } from '../registry';
import { DM_PROVIDERS, apiBaseUrlProblem, imApiDefaults, parseImCredentials, parseImIntegration, requireDmProvider } from './im-registry';

const STRICT = { allowPrivateTargets: false, extraAllowedHosts: [] };
const problemsOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationFailed) return err.details;
    throw err;
  }
  return [];
};

describe('the IM apps come from the channel registry (issue 15)', () => {
  it('lists exactly the adapters that declare an IM app, in registry order', () => {
    expect(DM_PROVIDERS).toEqual(CHANNEL_ADAPTERS.filter((a) => a.im).map((a) => a.type));
    expect(DM_PROVIDERS).toEqual(['slack', 'dingtalk', 'feishu', 'lark', 'wecom']);
  });

  it('refuses an unknown provider with a 400 on `provider` naming the allowed ones', () => {
    expect(problemsOf(() => requireDmProvider('teams'))).toEqual([
      { field: 'provider', message: 'provider "teams" has no IM app: it must be one of slack, dingtalk, feishu, lark, wecom' },
    ]);
    expect(requireDmProvider('lark')).toBe('lark');
  });

  it("validates an integration body against the provider's declared fields, naming every bad one", () => {
    expect(parseImIntegration('wecom', { corpId: ' ww1 ', agentId: '1000002', secret: 's' }, STRICT)).toEqual({
      credentials: { corpId: 'ww1', agentId: 1000002, secret: 's' },
      apiBaseUrl: null,
    });
    expect(problemsOf(() => parseImIntegration('feishu', { appId: '', extra: 1 }, STRICT))).toEqual([
      { field: 'appId', message: 'appId is required for feishu' },
      { field: 'appSecret', message: 'appSecret is required for feishu' },
      { field: 'extra', message: 'extra is not a feishu setting (expected appId, appSecret, apiBaseUrl)' },
    ]);
    expect(problemsOf(() => parseImIntegration('wecom', { corpId: 'c', agentId: -1, secret: 's' }, STRICT))).toEqual([
      { field: 'agentId', message: 'agentId must be the WeCom app AgentId, a positive integer' },
    ]);
    expect(problemsOf(() => parseImIntegration('slack', { token: 'xoxp-user' }, STRICT))).toEqual([
      { field: 'token', message: 'token must be the Bot User OAuth Token (xoxb-...)' },
    ]);
    // Stored credentials never carry apiBaseUrl: it is a column, not a credential.
    expect(problemsOf(() => parseImCredentials('slack', { token: 'xoxb-1', apiBaseUrl: 'https://x.example' }))).toEqual([
      { field: 'apiBaseUrl', message: 'apiBaseUrl is not a slack setting (expected token)' },
    ]);
  });

  it('takes an optional apiBaseUrl, normalised; absent, null or empty is the default', () => {
    const parse = (apiBaseUrl: unknown) => parseImIntegration('slack', { token: 'xoxb-1', apiBaseUrl }, STRICT).apiBaseUrl;
    expect(parse('https://chat.example.com/api/')).toBe('https://chat.example.com/api');
    expect(parse(null)).toBeNull();
    expect(parse('')).toBeNull();
    expect(parse(undefined)).toBeNull();
    expect(problemsOf(() => parse(42))).toEqual([{ field: 'apiBaseUrl', message: 'apiBaseUrl must be a URL string, or null for the default API' }]);
    // One answer names the credentials' problems and the base's.
    expect(problemsOf(() => parseImIntegration('slack', { apiBaseUrl: 'ftp://x' }, STRICT)).map((p) => p.field)).toEqual(['token', 'apiBaseUrl']);
  });

  it('checks apiBaseUrl with the SSRF policy of webhook URLs', () => {
    expect(apiBaseUrlProblem('https://chat.example.com/api', STRICT)).toBeNull();
    expect(apiBaseUrlProblem('not a url', STRICT)).toMatch(/absolute http\(s\) URL/);
    expect(apiBaseUrlProblem('file:///etc/passwd', STRICT)).toMatch(/scheme "file" is not allowed/);
    expect(apiBaseUrlProblem('https://u:p@chat.example.com', STRICT)).toMatch(/credentials in the URL/);
    expect(apiBaseUrlProblem('https://chat.example.com/api?x=1', STRICT)).toMatch(/query or fragment/);
    expect(apiBaseUrlProblem(`https://chat.example.com/${'a'.repeat(2048)}`, STRICT)).toMatch(/at most 2048/);
    for (const host of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '[::1]', '[::ffff:192.168.0.1]', '0.0.0.0']) {
      expect([host, apiBaseUrlProblem(`https://${host}/api`, STRICT)]).toEqual([
        host,
        expect.stringMatching(/is not allowed: it is a .* address \(HERALD_ALLOW_PRIVATE_TARGETS allows it\)/),
      ]);
    }
    // The app's secrets travel to it: https, unless the host is an extra allowed one or private targets are allowed.
    expect(apiBaseUrlProblem('http://chat.example.com/api', STRICT)).toMatch(/must use https/);
    expect(apiBaseUrlProblem('http://chat.example.com/api', { allowPrivateTargets: false, extraAllowedHosts: ['.example.com'] })).toBeNull();
    expect(apiBaseUrlProblem('http://127.0.0.1:9999/slack', { allowPrivateTargets: true, extraAllowedHosts: [] })).toBeNull();
  });

  it("reads each declared base's variable for the defaults, and stops the boot naming a bad one", () => {
    const defaults = imApiDefaults({ HERALD_SLACK_API_URL: 'http://127.0.0.1:1/slack/', HERALD_DINGTALK_OAPI_URL: 'https://oapi.example.com' });
    expect(defaults.get('slack')).toEqual({ api: 'http://127.0.0.1:1/slack' });
    expect(defaults.get('feishu')).toEqual({ api: 'https://open.feishu.cn/open-apis' });
    expect(defaults.get('dingtalk')).toEqual({ api: 'https://api.dingtalk.com', oapi: 'https://oapi.example.com' });
    expect(() => imApiDefaults({ HERALD_WECOM_API_URL: 'qyapi.weixin.qq.com', HERALD_LARK_API_URL: 'ftp://x' })).toThrow(ConfigError);
    expect(() => imApiDefaults({ HERALD_WECOM_API_URL: 'qyapi.weixin.qq.com' })).toThrow(
      /HERALD_WECOM_API_URL="qyapi.weixin.qq.com" is invalid: expected an http\(s\) URL/,
    );
  });
});
