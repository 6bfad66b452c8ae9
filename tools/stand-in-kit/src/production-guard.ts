/**
 * A stand-in accepts anything from anyone, keeps it in memory and delivers nothing. Running
 * one in production would swallow real customers' mail and messages, so it refuses outright
 * rather than warn.
 */
export function assertNotProduction(toolName: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.NODE_ENV === 'production') {
    throw new Error(
      `${toolName} is a development and test stand-in and refuses to start with NODE_ENV=production`,
    );
  }
}
