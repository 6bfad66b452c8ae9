/**
 * Both stand-ins accept anything from anyone and keep mail in memory. Running one in
 * production would swallow real customers' mail, so they refuse outright rather than warn.
 */
export function assertNotProduction(toolName: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.NODE_ENV === 'production') {
    throw new Error(
      `${toolName} is a development and test stand-in and refuses to start with NODE_ENV=production`,
    );
  }
}
