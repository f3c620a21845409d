import { ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AppConfig } from '@odtp/config';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';
import { packageInfo } from '@odtp/config';
import helmet from 'helmet';
import { bodyParserErrors, ErrorBodyFilter, verifyJsonDepth } from './common/error-body.filter';

/** Everything an admin API instance needs besides its modules (shared by main.ts and the e2e tests). */
export function configureApp(app: NestExpressApplication, config: AppConfig): void {
  app.useBodyParser('json', { limit: config.bodyLimit, verify: verifyJsonDepth });
  app.useBodyParser('urlencoded', { limit: config.bodyLimit, extended: false });
  app.use(bodyParserErrors);
  if (config.corsOrigins.length) app.enableCors({ origin: [...config.corsOrigins] });
  // The API is often served over plain HTTP on an internal network: upgrading sub-requests to HTTPS would break Swagger UI.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new ErrorBodyFilter({ queryTimeoutMs: config.queryTimeoutMs }));
  SwaggerModule.setup('docs', app, openApiDocument(app, config), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: false },
  });
}

/** The OpenAPI document of the admin API (served at /docs-json; committed as docs/openapi.json). */
export function openApiDocument(app: NestExpressApplication, config: AppConfig): OpenAPIObject {
  return SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('odtp-db admin API')
      .setDescription(
        `Schemas, migrations, seeds and integrity audits for the MongoDB database of ODTP.\n\n` +
          `**Application level: \`${config.app}\`** (ODTP_APP). Validators accept what that application writes, ` +
          `migrations it cannot live with are held, audits and repairs respect the references it writes as strings. ` +
          `See docs/app-compatibility.md.`,
      )
      .setVersion(packageInfo().version)
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        description: 'An API key from ADMIN_API_KEYS (odtp-db apikey create)',
      })
      .build(),
  );
}
