import { describe, expect, it } from 'vitest';
import { readMailCatcherCliConfig } from './cli-config.js';

describe('CLI configuration', () => {
  it('defaults to the usual local mail catcher ports on loopback', () => {
    expect(readMailCatcherCliConfig({})).toEqual({
      host: '127.0.0.1',
      smtpPort: 1025,
      httpPort: 8025,
      logLevel: 'info',
    });
  });

  it('takes ports, host and log level from the environment', () => {
    expect(
      readMailCatcherCliConfig({
        MAIL_CATCHER_SMTP_PORT: '2525',
        MAIL_CATCHER_HTTP_PORT: '0',
        MAIL_CATCHER_HOST: '0.0.0.0',
        LOG_LEVEL: 'debug',
      }),
    ).toEqual({ host: '0.0.0.0', smtpPort: 2525, httpPort: 0, logLevel: 'debug' });
  });

  it('names the variable that holds a bad value', () => {
    expect(() => readMailCatcherCliConfig({ MAIL_CATCHER_SMTP_PORT: 'smtp' })).toThrow(
      /MAIL_CATCHER_SMTP_PORT/,
    );
    expect(() => readMailCatcherCliConfig({ MAIL_CATCHER_HTTP_PORT: '70000' })).toThrow(
      /MAIL_CATCHER_HTTP_PORT/,
    );
    expect(() => readMailCatcherCliConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
