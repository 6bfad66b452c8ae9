import { readLogLevel, readPort } from '@notify/stand-in-kit';

export interface MailCatcherCliConfig {
  host: string;
  smtpPort: number;
  httpPort: number;
  logLevel: string;
}

/** Ports follow the conventions of other local mail catchers (1025 and 8025) so existing habits carry over. */
export function readMailCatcherCliConfig(env: NodeJS.ProcessEnv): MailCatcherCliConfig {
  const logLevel = readLogLevel(env);
  return {
    host: env.MAIL_CATCHER_HOST?.trim() || '127.0.0.1',
    smtpPort: readPort(env, 'MAIL_CATCHER_SMTP_PORT', 1025),
    httpPort: readPort(env, 'MAIL_CATCHER_HTTP_PORT', 8025),
    logLevel,
  };
}
