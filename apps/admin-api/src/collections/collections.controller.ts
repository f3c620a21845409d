import { Heavy } from '../common/rate-limit.guard';
import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { BrowseService, SORT_ORDERS } from '@odtp/browse';
import { ErrorBodyDto } from '../common/error-body.dto';
import { CollectionSummaryDto, DocumentPageDto, DocumentViewDto } from './collections.dto';
import { parseListQuery } from './list-query';

@ApiTags('collections')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'missing or invalid API key' })
@Controller('collections')
export class CollectionsController {
  constructor(private readonly browse: BrowseService) {}

  @Get()
  @Heavy()
  @ApiOperation({
    summary: 'The collections of the target schema: document count, validator state and indexes',
  })
  @ApiOkResponse({ type: [CollectionSummaryDto] })
  list(): Promise<CollectionSummaryDto[]> {
    return this.browse.collections();
  }

  @Get(':name/documents')
  @Heavy()
  @ApiOperation({
    summary: 'Browse documents with typed filters (?<field>=<value>), sort and cursor pagination',
    description:
      'Any field of the collection schema can be a filter: the value is converted to the field type (ObjectId, date, number, boolean, `null` for nullable fields). Unknown fields, a dollar sign in names or values, and repeated parameters are rejected with 400.',
  })
  @ApiParam({ name: 'name', description: 'collection name', example: 'users' })
  @ApiQuery({ name: 'sort', required: false, description: 'field to sort on (default _id)' })
  @ApiQuery({ name: 'order', required: false, enum: SORT_ORDERS })
  @ApiQuery({ name: 'limit', required: false, description: 'page size, 1 to 200 (default 20)' })
  @ApiQuery({ name: 'after', required: false, description: 'the `next` cursor of the previous page' })
  @ApiOkResponse({ type: DocumentPageDto })
  @ApiBadRequestResponse({
    type: ErrorBodyDto,
    description: 'unknown field, a dollar sign in a name or value, or a value of the wrong type',
  })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'unknown collection' })
  documents(@Param('name') name: string, @Query() query: Record<string, unknown>): Promise<DocumentPageDto> {
    return this.browse.list(name, parseListQuery(query));
  }

  @Get(':name/documents/:id')
  @Heavy()
  @ApiOperation({
    summary: 'One document, its outgoing references resolved and its incoming references counted',
  })
  @ApiParam({ name: 'name', description: 'collection name', example: 'users' })
  @ApiParam({
    name: 'id',
    description: 'the document _id (24 hex digits)',
    example: '650000000000000000000001',
  })
  @ApiOkResponse({ type: DocumentViewDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'id is not an ObjectId' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'unknown collection or document' })
  document(@Param('name') name: string, @Param('id') id: string): Promise<DocumentViewDto> {
    return this.browse.get(name, id);
  }
}
