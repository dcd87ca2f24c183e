/**
 * The event catalogue of docs/contract.md §4.2: every event type Herald knows, its default level and title, and
 * who receives direct messages for it. Producers may override level and title; the catalogue only
 * fills what they leave out.
 */
export const EVENT_LEVELS = ['INFO', 'SUCCESS', 'WARN', 'ERROR'] as const;
export type EventLevel = (typeof EVENT_LEVELS)[number];

export const EVENT_TYPES = [
  'bb.issue.create',
  'bb.issue.status.update',
  'bb.pipeline.stage.status.update',
  'bb.pipeline.task.status.update',
  'bb.issue.field.update',
  'bb.issue.comment.create',
  'bb.issue.approval.notify',
  'bb.notify.issue.approved',
  'bb.notify.pipeline.rollout',
  'bb.issue.sent_back',
  'bb.pipeline.failed',
  'bb.pipeline.completed',
  'deployment.create',
  'incident.create',
  'incident.resolve',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);
export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && EVENT_TYPE_SET.has(value);
}

/** The part of an event the defaults depend on. */
export interface CatalogueInput {
  issue?: { status?: string | null } | null;
  task?: { status?: string | null } | null;
  rollout?: { environment?: string | null } | null;
  deployment?: { environment?: string | null; result?: string | null } | null;
}

interface CatalogueEntry {
  /** Direct messages go to the event's `mentions` for these types only. */
  directMessage: boolean;
  level(event: CatalogueInput): EventLevel;
  title(event: CatalogueInput): string;
  /** Chinese title, used by DingTalk (as Bytebase does) and by webhooks with `locale: zh`. */
  titleZh(event: CatalogueInput): string;
}

const fixed = (level: EventLevel, title: string, titleZh: string, directMessage = false): CatalogueEntry => ({
  directMessage,
  level: () => level,
  title: () => title,
  titleZh: () => titleZh,
});

const upper = (value: string | null | undefined): string => (value ?? '').toUpperCase();

export const EVENT_CATALOGUE: Readonly<Record<EventType, CatalogueEntry>> = {
  'bb.issue.create': fixed('INFO', 'Issue created', '创建工单'),
  'bb.issue.status.update': {
    directMessage: false,
    level: (e) => (({ DONE: 'SUCCESS', CANCELED: 'WARN' }) as const)[upper(e.issue?.status) as 'DONE' | 'CANCELED'] ?? 'INFO',
    title: (e) =>
      (({ DONE: 'Issue resolved', CANCELED: 'Issue canceled', OPEN: 'Issue reopened' }) as Record<string, string>)[upper(e.issue?.status)] ??
      'Issue status changed',
    titleZh: (e) => (({ DONE: '工单完成', CANCELED: '工单取消', OPEN: '工单重开' }) as Record<string, string>)[upper(e.issue?.status)] ?? '工单状态变更',
  },
  'bb.pipeline.stage.status.update': fixed('INFO', 'Stage status changed', '阶段状态变更'),
  'bb.pipeline.task.status.update': {
    directMessage: false,
    level: (e) => (({ DONE: 'SUCCESS', FAILED: 'ERROR' }) as const)[upper(e.task?.status) as 'DONE' | 'FAILED'] ?? 'INFO',
    title: (e) => (({ DONE: 'Task run completed', FAILED: 'Task run failed' }) as Record<string, string>)[upper(e.task?.status)] ?? 'Task status changed',
    titleZh: (e) => (({ DONE: '任务完成', FAILED: '任务失败' }) as Record<string, string>)[upper(e.task?.status)] ?? '任务状态变更',
  },
  'bb.issue.field.update': fixed('INFO', 'Issue updated', '工单信息变更'),
  'bb.issue.comment.create': fixed('INFO', 'Comment created', '工单新评论'),
  'bb.issue.approval.notify': fixed('WARN', 'Issue approval needed', '工单待审批', true),
  'bb.notify.issue.approved': fixed('SUCCESS', 'Issue approved', '工单审批通过', true),
  'bb.notify.pipeline.rollout': fixed('INFO', 'Issue is waiting for rollout', '工单待发布', true),
  'bb.issue.sent_back': fixed('WARN', 'Issue sent back', '工单被退回', true),
  'bb.pipeline.failed': fixed('ERROR', 'Rollout failed', '发布失败'),
  'bb.pipeline.completed': fixed('SUCCESS', 'Rollout completed', '发布完成'),
  'deployment.create': {
    directMessage: false,
    level: (e) => (upper(e.deployment?.result) === 'FAILURE' ? 'ERROR' : 'SUCCESS'),
    title: (e) => `Deployment to ${e.deployment?.environment || e.rollout?.environment || 'PRODUCTION'}`,
    titleZh: (e) => `部署到 ${e.deployment?.environment || e.rollout?.environment || 'PRODUCTION'}`,
  },
  'incident.create': fixed('ERROR', 'Incident opened', '事故发生'),
  'incident.resolve': fixed('SUCCESS', 'Incident resolved', '事故解决'),
};

export function supportsDirectMessage(type: EventType): boolean {
  return EVENT_CATALOGUE[type].directMessage;
}

/** An event's title is at most this many characters (code points), as a producer's own must be (docs/contract.md §4.1). */
export const TITLE_MAX_LENGTH = 1000;

/**
 * The catalogue's title for an event that brings none, stored with the event: cut to
 * {@link TITLE_MAX_LENGTH} characters (it can carry event data, "Deployment to {environment}"),
 * counted as intake's validation counts a producer's title, never inside a surrogate pair.
 */
export function catalogueTitle(type: EventType, event: CatalogueInput): string {
  const title = EVENT_CATALOGUE[type].title(event);
  if (title.length <= TITLE_MAX_LENGTH) return title;
  const chars = Array.from(title);
  return chars.length <= TITLE_MAX_LENGTH ? title : chars.slice(0, TITLE_MAX_LENGTH).join('');
}
