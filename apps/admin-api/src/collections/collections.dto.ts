import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SORT_ORDERS } from '@odtp/browse';
import { VALIDATOR_STATES } from '@odtp/schema';

export class IndexSummaryDto {
  @ApiProperty({ description: 'index name', example: 'displayName_1' })
  name!: string;

  @ApiProperty({
    description: 'key pattern',
    example: { displayName: 1 },
    type: 'object',
    additionalProperties: true,
  })
  key!: Record<string, unknown>;

  @ApiProperty({ description: 'unique index', example: true })
  unique!: boolean;
}

export class CollectionSummaryDto {
  @ApiProperty({ description: 'collection name', example: 'users' })
  name!: string;

  @ApiProperty({ description: 'number of documents (estimated from collection metadata)', example: 3 })
  count!: number;

  @ApiProperty({
    description: 'applied validator compared with the derived one',
    enum: VALIDATOR_STATES,
  })
  validator!: string;

  @ApiProperty({
    description: 'validationLevel, or null without a validator',
    nullable: true,
    type: String,
    example: 'strict',
  })
  validationLevel!: string | null;

  @ApiProperty({
    description: 'validationAction, or null without a validator',
    nullable: true,
    type: String,
    example: 'error',
  })
  validationAction!: string | null;

  @ApiProperty({ description: 'indexes of the collection', type: [IndexSummaryDto] })
  indexes!: IndexSummaryDto[];
}

export class DocumentPageDto {
  @ApiProperty({
    description: 'documents in relaxed Extended JSON (ObjectIds as {"$oid"}, dates as {"$date"})',
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    example: [
      {
        _id: { $oid: '650000000000000000000001' },
        displayName: 'Ann',
        created_at: { $date: '2024-01-01T00:00:00Z' },
      },
    ],
  })
  items!: Record<string, unknown>[];

  @ApiProperty({
    description: 'pass as `after` to get the next page; null on the last page',
    nullable: true,
    type: String,
    example: null,
  })
  next!: string | null;
}

export class OutgoingReferenceDto {
  @ApiProperty({ description: 'reference path in this document', example: 'userRef' })
  path!: string;

  @ApiProperty({
    description: 'the referenced id (hex), or the stored value when it is not an ObjectId',
    example: '650000000000000000000001',
  })
  id!: unknown;

  @ApiProperty({ description: 'collection the reference points into', example: 'users' })
  target!: string;

  @ApiProperty({
    description:
      'whether the referenced document exists (false for a dangling reference or a non-ObjectId value)',
    example: true,
  })
  exists!: boolean;
}

export class IncomingReferencesDto {
  @ApiProperty({ description: 'collection holding references to this document', example: 'digitalTwins' })
  from!: string;

  @ApiProperty({ description: 'reference path in that collection', example: 'userRef' })
  path!: string;

  @ApiProperty({ description: 'number of documents referencing this one through that path', example: 2 })
  count!: number;
}

export class DocumentViewDto {
  @ApiProperty({
    description: 'the document in relaxed Extended JSON',
    type: 'object',
    additionalProperties: true,
  })
  document!: Record<string, unknown>;

  @ApiProperty({ description: 'each outgoing reference, resolved', type: [OutgoingReferenceDto] })
  references!: OutgoingReferenceDto[];

  @ApiProperty({
    description: 'incoming references per edge of the reference graph',
    type: [IncomingReferencesDto],
  })
  incoming!: IncomingReferencesDto[];
}

export class ListQueryDocDto {
  @ApiPropertyOptional({
    description: 'field to sort on (a field of the schema; default _id)',
    example: 'created_at',
  })
  sort?: string;

  @ApiPropertyOptional({ description: 'sort order', enum: SORT_ORDERS, default: 'asc' })
  order?: string;

  @ApiPropertyOptional({ description: 'page size, 1 to 200', default: 20, example: 20 })
  limit?: number;

  @ApiPropertyOptional({ description: 'the `next` cursor of the previous page' })
  after?: string;
}
