import { BadRequestException } from '@nestjs/common';
import { NotFound, ValidationFailed } from '@herald/domain';
import { errorEnvelope, isDependencyDown, toErrorBody } from './errors';

describe('toErrorBody (docs/contract.md §3.2)', () => {
  it('maps domain errors to their status codes', () => {
    expect(toErrorBody(new NotFound('project "x" not found'))).toMatchObject({ status: 404, message: 'project "x" not found' });
    expect(toErrorBody(new ValidationFailed([{ field: 'a', message: 'bad' }]))).toMatchObject({ status: 400, details: [{ field: 'a', message: 'bad' }] });
  });

  it('keeps the field details of validation errors', () => {
    const body = toErrorBody(new BadRequestException({ message: 'x', details: [{ field: 'name', message: 'required' }] }));
    expect(body).toMatchObject({ status: 400, details: [{ field: 'name', message: 'required' }] });
  });

  it('answers 503 with Retry-After when Postgres is down', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(toErrorBody(err)).toMatchObject({ status: 503, retryAfterSeconds: 5 });
  });

  it('passes Fastify 4xx errors through', () => {
    expect(toErrorBody(Object.assign(new Error('too big'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' }))).toMatchObject({ status: 413 });
  });

  it('hides unknown errors behind a 500 without leaking their text', () => {
    expect(toErrorBody(new Error('secret internals'))).toEqual(expect.objectContaining({ status: 500, message: expect.not.stringContaining('secret') }));
  });
});

describe('isDependencyDown', () => {
  it.each([
    [{ code: '57P01' }, true],
    [{ code: '08006' }, true],
    [{ message: 'Connection terminated unexpectedly' }, true],
    [{ driverError: { code: 'ECONNREFUSED' } }, true],
    // Cancelled by the app's statement_timeout (issue 13): Postgres did not answer in time.
    [{ driverError: { code: '57014' } }, true],
    [{ code: '23505' }, false],
    [new Error('boom'), false],
  ])('%p -> %p', (err, expected) => {
    expect(isDependencyDown(err)).toBe(expected);
  });
});

describe('errorEnvelope', () => {
  const legacy = { name: 'legacy', matches: (p: string) => p.startsWith('/legacy/'), envelope: (b: { status: number }) => ({ code: b.status }) };
  it("answers a dialect's routes in its envelope and everything else in the API's", () => {
    const body = { status: 404, error: 'Not Found', message: 'no such thing' };
    expect(errorEnvelope('/legacy/x?y=1', body, [legacy])).toEqual({ code: 404 });
    expect(errorEnvelope('/v1/x', body, [legacy])).toEqual({ statusCode: 404, error: 'Not Found', message: 'no such thing' });
    expect(errorEnvelope('/legacy/x', body, [])).toEqual({ statusCode: 404, error: 'Not Found', message: 'no such thing' });
  });
});
