export * from './benchmarks';
export * from './dora.controller';
export * from './dora.dto';
export * from './dora.module';
export * from './dora.queries';
export * from './dora.service';
