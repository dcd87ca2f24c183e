import { EVENT_CATALOGUE, EVENT_TYPES, TITLE_MAX_LENGTH, catalogueTitle, isEventType, supportsDirectMessage, type CatalogueInput } from './event-catalogue';

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

describe('catalogueTitle', () => {
  it('keeps a stored title within the producer limit when the catalogue carries event data (the fuzz drill stored a 1 014-character one)', () => {
    const title = catalogueTitle('deployment.create', { deployment: { environment: 'E'.repeat(1000) } } as CatalogueInput);
    expect(title).toHaveLength(TITLE_MAX_LENGTH);
    expect(title.startsWith('Deployment to EEE')).toBe(true);
  });

  it('never cuts inside a surrogate pair', () => {
    // 'Deployment to ' is 14 characters, then 1 000 emoji of two UTF-16 units each.
    const title = catalogueTitle('deployment.create', { deployment: { environment: '😀'.repeat(1000) } } as CatalogueInput);
    expect(Array.from(title)).toHaveLength(TITLE_MAX_LENGTH);
    expect(/[\uD800-\uDBFF]$/.test(title)).toBe(false);
    expect(title.endsWith('😀')).toBe(true);
  });

  it('leaves a short title as the catalogue gives it', () => {
    expect(catalogueTitle('bb.issue.create', {} as CatalogueInput)).toBe('Issue created');
  });
});
