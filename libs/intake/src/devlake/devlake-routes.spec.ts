import { DEVLAKE_PATH, DEVLAKE_ROUTE_PREFIXES, DEVLAKE_ROUTES, devlakeEnvelope } from './devlake-routes';

describe('the DevLake-compatible routes', () => {
  it.each(['/api/plugins/webhook/1/deployments', '/plugins/webhook/1/issues', '/api/rest/plugins/webhook/x', '/rest/plugins/webhook/x'])('matches %s', (p) => {
    expect(DEVLAKE_PATH.test(p)).toBe(true);
    expect(DEVLAKE_ROUTES.matches(p)).toBe(true);
  });

  it('does not match the events API', () => {
    expect(DEVLAKE_ROUTES.matches('/v1/projects/a/events')).toBe(false);
  });

  it('matches every prefix the gateway forwards', () => {
    for (const prefix of DEVLAKE_ROUTE_PREFIXES) expect(DEVLAKE_PATH.test(`${prefix}1/deployments`)).toBe(true);
  });

  it("answers errors in DevLake's envelope, each field problem a cause", () => {
    expect(
      devlakeEnvelope({ status: 400, error: 'Bad Request', message: 'repo_url: is required', details: [{ field: 'repo_url', message: 'is required' }] }),
    ).toEqual({
      code: 400,
      success: false,
      message: 'repo_url: is required',
      causes: ['repo_url: is required'],
      data: null,
    });
    expect(DEVLAKE_ROUTES.envelope({ status: 401, error: 'Unauthorized', message: 'token is missing' })).toEqual({
      code: 401,
      success: false,
      message: 'token is missing',
      causes: [],
      data: null,
    });
  });
});
