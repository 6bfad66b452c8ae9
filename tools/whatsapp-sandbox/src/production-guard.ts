/**
 * The sandbox accepts any message and never delivers it. Running it in production would
 * silently swallow every customer's WhatsApp message, so it refuses outright rather than warn.
 */
export function assertNotProduction(toolName: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.NODE_ENV === 'production') {
    throw new Error(
      `${toolName} is a development and test stand-in and refuses to start with NODE_ENV=production`,
    );
  }
}
