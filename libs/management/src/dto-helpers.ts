import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { DEFAULT_PAGE, MAX_PAGE } from '@herald/persistence';

/** `?cursor=&limit=` of every list (docs/contract.md §3.3). */
export class PageQueryDto {
  @ApiPropertyOptional({ description: 'The nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  limit?: number;
}

export function pageRequest(q: PageQueryDto): { cursor?: string; limit: number } {
  return { cursor: q.cursor, limit: q.limit ?? DEFAULT_PAGE };
}

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
