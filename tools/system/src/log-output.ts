import { prettyFactory } from 'pino-pretty';

const COLOURS = [36, 35, 33, 32, 34, 31, 96, 95];

/**
 * Turns one process's stdout/stderr lines into what the terminal shows: in a terminal,
 * pino JSON is pretty-printed behind a coloured `name |` prefix; otherwise the JSON
 * lines pass through untouched (they carry `service` already) so tools can parse them.
 */
export function createLineFormatter(
  name: string,
  index: number,
  options: { pretty: boolean; width: number },
) {
  if (!options.pretty) {
    return (line: string) => (line.startsWith('{') ? line : JSON.stringify({ service: name, msg: line }));
  }
  const pretty = prettyFactory({
    colorize: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service',
  });
  const colour = COLOURS[index % COLOURS.length];
  const prefix = `\u001b[${colour}m${name.padEnd(options.width)}\u001b[0m |`;
  return (line: string) => {
    let text = line;
    if (line.startsWith('{')) {
      try {
        text = pretty(JSON.parse(line)).trimEnd();
      } catch {
        text = line;
      }
    }
    return text
      .split('\n')
      .map((l) => `${prefix} ${l}`)
      .join('\n');
  };
}

/** Pretty output in a terminal, JSON lines otherwise; LOG_PRETTY=1/0 decides explicitly. */
export function wantsPrettyOutput(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.LOG_PRETTY) return env.LOG_PRETTY === '1' || env.LOG_PRETTY === 'true';
  return Boolean(process.stdout.isTTY);
}
