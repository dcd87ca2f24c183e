export * from './events/event.dto';
export * from './events/events-intake.controller';
export * from './events/events-intake.service';
export * from './intake.module';
export * from './devlake/devlake.module';
export * from './devlake/payloads';
export * from './devlake/events';
export * from './link';
