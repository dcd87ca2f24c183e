import type { components } from '@herald/sdk';

export type EventType = components['schemas']['CreateWebhookDto']['events'][number];
export type ChannelType = components['schemas']['CreateWebhookDto']['type'];

/**
 * The catalogue of docs/contract.md §4.2, with the words the webhook form shows. Typed by the generated API enum:
 * an event type added to or removed from the contract does not compile until it is listed here.
 */
export const EVENT_TYPES: Record<EventType, { label: string; description: string; directMessage: boolean }> = {
  'bb.issue.create': { label: 'Issue created', description: 'A new issue was opened.', directMessage: false },
  'bb.issue.status.update': { label: 'Issue status changed', description: 'Resolved, canceled or reopened.', directMessage: false },
  'bb.pipeline.stage.status.update': { label: 'Stage status changed', description: "An issue's stage moved on.", directMessage: false },
  'bb.pipeline.task.status.update': { label: 'Task status changed', description: 'A task run completed or failed.', directMessage: false },
  'bb.issue.field.update': { label: 'Issue updated', description: 'Assignee, title or description changed.', directMessage: false },
  'bb.issue.comment.create': { label: 'Comment created', description: 'Someone commented on an issue.', directMessage: false },
  'bb.issue.approval.notify': { label: 'Approval needed', description: 'Approvers are asked to review (direct message to them).', directMessage: true },
  'bb.notify.issue.approved': { label: 'Issue approved', description: 'The creator is told (direct message).', directMessage: true },
  'bb.notify.pipeline.rollout': { label: 'Rollout needed', description: 'Who may roll out is asked (direct message).', directMessage: true },
  'bb.issue.sent_back': { label: 'Issue sent back', description: 'An approver sent it back to the creator (direct message).', directMessage: true },
  'bb.pipeline.failed': { label: 'Rollout failed', description: 'A rollout ended in failure.', directMessage: false },
  'bb.pipeline.completed': { label: 'Rollout completed', description: 'A rollout finished.', directMessage: false },
  'deployment.create': { label: 'Deployment', description: 'A deployment was registered (events API or DevLake).', directMessage: false },
  'incident.create': { label: 'Incident opened', description: 'An incident was opened.', directMessage: false },
  'incident.resolve': { label: 'Incident resolved', description: 'An incident was closed.', directMessage: false },
};

export const EVENT_TYPE_LIST = Object.keys(EVENT_TYPES) as EventType[];

export const DELIVERY_STATUSES = ['pending', 'delivering', 'succeeded', 'failed', 'dead'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
