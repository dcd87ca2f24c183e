import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { EventContent } from '@herald/domain';
import {
  DeliveryRepository,
  EventRepository,
  ProjectRepository,
  deliveryStatus,
  type DeliveryAttemptEntity,
  type DeliveryEntity,
  type EventEntity,
} from '@herald/persistence';
import { CurrentPrincipal, type Principal } from '@herald/platform';
import { iso, pageRequest } from '../dto-helpers';
import {
  AttemptDto,
  DeliveryDetailDto,
  DeliveryDto,
  DeliveryPageDto,
  DeliveryQueryDto,
  EventPageDto,
  EventQueryDto,
  StoredEventDetailDto,
  StoredEventDto,
} from './query.dto';

export const presentDelivery = (d: DeliveryEntity): DeliveryDto => ({
  id: d.id,
  eventId: d.eventId,
  webhookId: d.webhookId,
  eventType: d.eventType,
  status: deliveryStatus(d),
  attemptCount: d.attemptCount,
  nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
  createdAt: d.createdAt.toISOString(),
  deliveredAt: iso(d.deliveredAt),
  lastError: d.lastError,
  subject: d.subject ?? null,
});

const presentAttempt = (a: DeliveryAttemptEntity): AttemptDto => ({
  number: a.number,
  startedAt: a.startedAt.toISOString(),
  durationMs: a.durationMs,
  statusCode: a.statusCode,
  outcome: a.outcome,
  error: a.error,
  responseBody: a.responseBody,
  repeats: a.repeats,
  lastStartedAt: a.lastStartedAt ? a.lastStartedAt.toISOString() : null,
  digest: a.digestDeliveryId ? { deliveryId: a.digestDeliveryId, attempt: a.digestAttempt ?? 0, items: a.digestItems ?? 0 } : null,
});

type OptionalEventField = { [K in keyof EventContent]-?: undefined extends EventContent[K] ? K : never }[keyof EventContent];
/**
 * docs/contract.md §4.1 fields a producer may leave out, answered as null so every event has the same keys.
 * Typed over EventContent's optional fields: a new one does not compile until it is listed here.
 */
const ABSENT_EVENT_FIELDS: Record<OptionalEventField, null> = {
  description: null,
  link: null,
  actor: null,
  issue: null,
  stage: null,
  task: null,
  rollout: null,
  comment: null,
  deployment: null,
  mentions: null,
};

const presentEvent = (e: EventEntity, projectKey: string): StoredEventDto => ({
  ...ABSENT_EVENT_FIELDS,
  ...e.body,
  id: e.id,
  projectKey,
  type: e.type,
  level: e.level,
  title: e.title,
  source: e.source,
  occurredAt: e.occurredAt.toISOString(),
  receivedAt: e.receivedAt.toISOString(),
});

@ApiTags('events and deliveries')
@ApiBearerAuth()
@Controller('v1/projects/:key')
export class QueriesController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly events: EventRepository,
    private readonly deliveries: DeliveryRepository,
  ) {}

  @Get('events')
  @ApiResponse({ status: 200, type: EventPageDto })
  async listEvents(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Query() query: EventQueryDto): Promise<EventPageDto> {
    const project = await this.projects.resolve(principal, key);
    const page = await this.events.list(project.id, { ...pageRequest(query), type: query.type, since: query.since, until: query.until });
    return { items: page.items.map((e) => presentEvent(e, project.key)), nextCursor: page.nextCursor };
  }

  @Get('events/:id')
  @ApiResponse({ status: 200, type: StoredEventDetailDto })
  async getEvent(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Param('id') id: string): Promise<StoredEventDetailDto> {
    const project = await this.projects.resolve(principal, key);
    const event = await this.events.get(project.id, id);
    const deliveries = await this.deliveries.listByEvent(project.id, event.id);
    return { ...presentEvent(event, project.key), deliveries: deliveries.map(presentDelivery) };
  }

  @Get('deliveries')
  @ApiResponse({ status: 200, type: DeliveryPageDto })
  async listDeliveries(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Query() query: DeliveryQueryDto): Promise<DeliveryPageDto> {
    const project = await this.projects.resolve(principal, key);
    const page = await this.deliveries.list(project.id, {
      ...pageRequest(query),
      webhookId: query.webhookId,
      status: query.status,
      eventType: query.eventType,
      since: query.since,
    });
    return { items: page.items.map(presentDelivery), nextCursor: page.nextCursor };
  }

  @Get('deliveries/:id')
  @ApiResponse({ status: 200, type: DeliveryDetailDto })
  async getDelivery(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Param('id') id: string): Promise<DeliveryDetailDto> {
    const project = await this.projects.resolve(principal, key);
    const delivery = await this.deliveries.get(project.id, id);
    const attempts = await this.deliveries.attempts(delivery.id);
    return { ...presentDelivery(delivery), attempts: attempts.map(presentAttempt) };
  }
}
