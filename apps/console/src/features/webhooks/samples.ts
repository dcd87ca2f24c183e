import type { EventType } from '../../lib/catalogue';

/**
 * One made-up event per type, as the events API would take it: what the template preview renders.
 * Only the preview uses them; nothing is stored or sent.
 */
const actor = { id: 7, name: 'Ann Lee', email: 'ann@example.com' };
const issue = {
  id: 42,
  key: 'PAY-42',
  name: 'Add index on orders.created_at',
  status: 'OPEN',
  type: 'bb.issue.database.schema.update',
  description: 'Checkout queries scan the whole orders table.',
  creator: { name: 'Ann Lee', email: 'ann@example.com' },
};
const link = 'https://bytebase.example.com/projects/payments/issues/42';
const rollout = { id: 1042, title: 'Rollout of PAY-42', environment: 'PRODUCTION' };
const approvers = [
  { name: 'Bo Chen', email: 'bo@example.com', phone: '+8613800000001' },
  { name: 'Cy Diaz', email: 'cy@example.com' },
];

export const SAMPLE_EVENTS: Record<EventType, Record<string, unknown>> = {
  'bb.issue.create': { type: 'bb.issue.create', description: 'Ann Lee created issue PAY-42', link, actor, issue },
  'bb.issue.status.update': { type: 'bb.issue.status.update', description: 'PAY-42: OPEN → DONE', link, actor, issue: { ...issue, status: 'DONE' } },
  'bb.pipeline.stage.status.update': { type: 'bb.pipeline.stage.status.update', link, actor, issue, stage: { name: 'Prod', status: 'RUNNING' } },
  'bb.pipeline.task.status.update': {
    type: 'bb.pipeline.task.status.update',
    link,
    actor,
    issue,
    task: { name: 'Apply schema change', status: 'FAILED' },
    description: 'ERROR 1205: lock wait timeout',
  },
  'bb.issue.field.update': { type: 'bb.issue.field.update', description: 'Assignee changed to Bo Chen', link, actor, issue },
  'bb.issue.comment.create': { type: 'bb.issue.comment.create', link, actor, issue, comment: { text: 'Can we run this after 22:00?' } },
  'bb.issue.approval.notify': { type: 'bb.issue.approval.notify', description: 'Please review the schema change', link, actor, issue, mentions: approvers },
  'bb.notify.issue.approved': { type: 'bb.notify.issue.approved', link, actor: approvers[0], issue, mentions: [actor] },
  'bb.notify.pipeline.rollout': { type: 'bb.notify.pipeline.rollout', link, actor, issue, rollout, mentions: approvers },
  'bb.issue.sent_back': { type: 'bb.issue.sent_back', description: 'Please add a rollback statement', link, actor: approvers[0], issue, mentions: [actor] },
  'bb.pipeline.failed': { type: 'bb.pipeline.failed', description: 'Task "Apply schema change" failed', link, actor, issue, rollout },
  'bb.pipeline.completed': { type: 'bb.pipeline.completed', link, actor, issue, rollout },
  'deployment.create': {
    type: 'deployment.create',
    description: 'deploy 1a2b3c4 to PRODUCTION',
    link: 'https://ci.example.com/pipelines/981',
    rollout: { id: 'ci:981', title: 'deploy 1a2b3c4 to PRODUCTION', environment: 'PRODUCTION' },
    deployment: {
      id: 'ci:981',
      result: 'SUCCESS',
      environment: 'PRODUCTION',
      commits: [{ repoUrl: 'https://github.com/acme/shop', commitSha: '1a2b3c4', refName: 'release/2.4' }],
    },
  },
  'incident.create': {
    type: 'incident.create',
    description: 'Checkout error rate above 5 %',
    link: 'https://tracker.example.com/INC-7',
    actor,
    issue: { id: 'INC-7', key: 'INC-7', name: 'Checkout errors', status: 'OPEN', type: 'INCIDENT' },
  },
  'incident.resolve': {
    type: 'incident.resolve',
    link: 'https://tracker.example.com/INC-7',
    actor,
    issue: { id: 'INC-7', key: 'INC-7', name: 'Checkout errors', status: 'DONE', type: 'INCIDENT' },
  },
};
