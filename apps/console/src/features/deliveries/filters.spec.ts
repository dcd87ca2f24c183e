import { errorClass, filtersToParams, isFiltered, parseFilters, toListQuery, withFilter } from './filters';

const WEBHOOK = '0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b';

describe('delivery filters kept in the URL', () => {
  it('reads every filter from the query string and writes it back in a fixed order', () => {
    const params = new URLSearchParams(`range=24h&eventType=deployment.create&webhookId=${WEBHOOK.toUpperCase()}&status=dead`);
    const filters = parseFilters(params);
    expect(filters).toEqual({ status: 'dead', webhookId: WEBHOOK, eventType: 'deployment.create', range: '24h' });
    expect(filtersToParams(filters).toString()).toBe(`status=dead&webhookId=${WEBHOOK}&eventType=deployment.create&range=24h`);
  });

  it('drops values the API would refuse instead of sending them', () => {
    expect(parseFilters(new URLSearchParams('status=lost&webhookId=42&eventType=nope&range=3y'))).toEqual({});
  });

  it('turns the time preset into since, at the moment of the query', () => {
    const now = new Date('2024-05-01T12:00:00.000Z');
    expect(toListQuery({ status: 'failed', range: '1h' }, now)).toEqual({ status: 'failed', since: '2024-05-01T11:00:00Z' });
    expect(toListQuery({}, now)).toEqual({});
  });

  it('clears a filter set to empty and knows when anything is filtered', () => {
    const f = withFilter({ status: 'dead', range: '7d' }, { status: '' });
    expect(f).toEqual({ range: '7d' });
    expect(isFiltered(f)).toBe(true);
    expect(isFiltered(withFilter(f, { range: undefined }))).toBe(false);
  });
});

describe('attempt error classes', () => {
  it.each([
    [{ statusCode: null, outcome: 'retryable', error: 'timeout: 127.0.0.1 did not answer within 3000 ms' }, 'timeout'],
    [{ statusCode: null, outcome: 'retryable', error: 'network error reaching hooks.example: getaddrinfo ENOTFOUND hooks.example' }, 'DNS'],
    [{ statusCode: null, outcome: 'rejected', error: 'target 10.0.0.5 is not allowed: private' }, 'SSRF-blocked'],
    [{ statusCode: 429, outcome: 'rate_limited', error: 'HTTP 429 Too Many Requests' }, '429 rate limited'],
    [{ statusCode: 503, outcome: 'retryable', error: 'HTTP 503' }, 'HTTP 503'],
    [{ statusCode: 200, outcome: 'delivered', error: null }, null],
  ])('%o is %s', (attempt, expected) => {
    expect(errorClass(attempt)).toBe(expected);
  });
});
