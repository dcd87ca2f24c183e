import { EVENT_CATALOGUE, EVENT_TYPES, isEventType, supportsDirectMessage } from './event-catalogue';

describe('event catalogue (docs/contract.md §4.2)', () => {
  it('has an entry for every type', () => {
    expect(Object.keys(EVENT_CATALOGUE).sort()).toEqual([...EVENT_TYPES].sort());
  });

  it.each([
    ['DONE', 'SUCCESS', 'Issue resolved'],
    ['CANCELED', 'WARN', 'Issue canceled'],
    ['OPEN', 'INFO', 'Issue reopened'],
    [undefined, 'INFO', 'Issue status changed'],
  ])('issue status %p gives level %s and title %s', (status, level, title) => {
    const entry = EVENT_CATALOGUE['bb.issue.status.update'];
    expect(entry.level({ issue: { status } })).toBe(level);
    expect(entry.title({ issue: { status } })).toBe(title);
  });

  it.each([
    ['DONE', 'SUCCESS', 'Task run completed'],
    ['FAILED', 'ERROR', 'Task run failed'],
    ['RUNNING', 'INFO', 'Task status changed'],
  ])('task status %p gives level %s and title %s', (status, level, title) => {
    const entry = EVENT_CATALOGUE['bb.pipeline.task.status.update'];
    expect(entry.level({ task: { status } })).toBe(level);
    expect(entry.title({ task: { status } })).toBe(title);
  });

  it('titles deployments with their environment and fails them on FAILURE', () => {
    const entry = EVENT_CATALOGUE['deployment.create'];
    expect(entry.title({ deployment: { environment: 'STAGING' } })).toBe('Deployment to STAGING');
    expect(entry.level({ deployment: { result: 'FAILURE' } })).toBe('ERROR');
    expect(entry.level({ deployment: { result: 'SUCCESS' } })).toBe('SUCCESS');
  });

  it('sends direct messages only for approval, approved, rollout and sent back', () => {
    expect(EVENT_TYPES.filter(supportsDirectMessage).sort()).toEqual(
      ['bb.issue.approval.notify', 'bb.issue.sent_back', 'bb.notify.issue.approved', 'bb.notify.pipeline.rollout'].sort(),
    );
  });

  it('recognises only catalogue types', () => {
    expect(isEventType('bb.issue.create')).toBe(true);
    expect(isEventType('bb.issue.created')).toBe(false);
    expect(isEventType(42)).toBe(false);
  });
});
