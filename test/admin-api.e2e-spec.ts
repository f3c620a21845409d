import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Max } from 'class-validator';
import request from 'supertest';
import { Public } from '@odtp/auth';
import { packageInfo } from '@odtp/config';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';

class ProbeDto {
  @ApiProperty()
  @IsString()
  name!: string;

  @ApiProperty()
  @IsInt()
  @Max(10)
  count!: number;
}

@Public()
@Controller('probe')
class ProbeController {
  @Post()
  echo(@Body() body: ProbeDto): ProbeDto {
    return body;
  }

  @Get('boom')
  boom(): never {
    throw new Error('secret internal detail at /srv/app.ts:12');
  }
}

describe('admin API foundation', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ controllers: [ProbeController] });
  });
  afterAll(async () => {
    await t.app.close();
  });

  it('GET /health answers 200 with the engine, a ping and the version', async () => {
    const res = await request(t.app.getHttpServer()).get('/health').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.database.engine).toBe(process.env.MONGODB_URI ? 'uri' : 'embedded');
    expect(res.body.database.ping).toBe('ok');
    expect(typeof res.body.database.latencyMs).toBe('number');
    expect(res.body.version).toBe(packageInfo().version);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('echoes a well-formed x-request-id', async () => {
    const res = await request(t.app.getHttpServer()).get('/health').set('x-request-id', 'req-42').expect(200);
    expect(res.headers['x-request-id']).toBe('req-42');
  });

  it('serves the Swagger UI at /docs and an OpenAPI 3 document at /docs-json', async () => {
    const ui = await request(t.app.getHttpServer()).get('/docs').expect(200);
    expect(ui.text).toContain('swagger-ui');
    const doc = await request(t.app.getHttpServer()).get('/docs-json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toContain('/health');
  });

  it('sets helmet headers', async () => {
    const res = await request(t.app.getHttpServer()).get('/health');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
  });

  describe('error body {statusCode, error, message, details?}', () => {
    it('validation errors list each problem in details', async () => {
      const res = await request(t.app.getHttpServer())
        .post('/probe')
        .send({ name: 'x', count: 11, extra: 1 })
        .expect(400);
      expect(res.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'Validation failed',
        details: ['property extra should not exist', 'count must not be greater than 10'],
      });
    });

    it('malformed JSON is a 400', async () => {
      const res = await request(t.app.getHttpServer())
        .post('/probe')
        .set('content-type', 'application/json')
        .send('{"name":')
        .expect(400);
      expect(Object.keys(res.body).sort()).toEqual(['error', 'message', 'statusCode']);
      expect(res.body.statusCode).toBe(400);
      expect(res.body.error).toBe('Bad Request');
    });

    it('unknown routes are a 404 in the same shape', async () => {
      const res = await request(t.app.getHttpServer()).get('/nope').expect(404);
      expect(res.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'Cannot GET /nope' });
    });

    it('unexpected errors are a 500 that leaks no detail or stack', async () => {
      const res = await request(t.app.getHttpServer()).get('/probe/boom').expect(500);
      expect(res.body).toEqual({
        statusCode: 500,
        error: 'Internal Server Error',
        message: 'Internal server error',
      });
      expect(res.text).not.toContain('secret');
    });
  });
});

describe('GET /health when the database is gone', () => {
  it('answers 503 with ping "fail"', async () => {
    const t = await createTestApp({ ownServer: true });
    await t.database.stop();
    const res = await request(t.app.getHttpServer()).get('/health').expect(503);
    expect(res.body.status).toBe('unavailable');
    expect(res.body.database.ping).toBe('fail');
    await t.app.close().catch(() => undefined);
  });
});
