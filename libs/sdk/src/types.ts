import type { components } from './generated/openapi';

/** Short names for the API's resources (the generated schemas keep the server's DTO names). */
type S = components['schemas'];
export type Project = S['ProjectDto'];
export type ApiKey = S['ApiKeyDto'];
export type CreatedApiKey = S['CreatedApiKeyDto'];
export type Webhook = S['WebhookDto'];
export type CreateWebhook = S['CreateWebhookDto'];
export type UpdateWebhook = S['UpdateWebhookDto'];
export type TestResult = S['TestResultDto'];
export type StoredEvent = S['StoredEventDto'];
export type StoredEventDetail = S['StoredEventDetailDto'];
export type Delivery = S['DeliveryDto'];
export type DeliveryDetail = S['DeliveryDetailDto'];
export type Attempt = S['AttemptDto'];
export type Connection = S['ConnectionDto'];
export type ConnectionWithKey = S['ConnectionWithKeyDto'];
export type Dora = S['DoraDto'];
export type WebhookPreview = S['WebhookPreviewDto'];
export type WebhookPreviewResult = S['WebhookPreviewResultDto'];
