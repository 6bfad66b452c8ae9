import net from 'node:net';

// The line between the services and a provider stand-in (SMTP, Twilio): while it is cut,
// connecting is refused and live connections drop, which is what a service sees when its
// provider is unreachable. The stand-in itself keeps running and keeps its books.

export class ProviderLine {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private port = 0;

  private constructor(private readonly target: URL) {}

  /** Opens a line to the stand-in at `url` (http:// or smtp://, host and port are used). */
  static async open(url: string): Promise<ProviderLine> {
    const line = new ProviderLine(new URL(url));
    await line.restore();
    return line;
  }

  /** `url` with this line's port in place of the stand-in's. */
  urlFor(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString().replace(/\/$/, '');
  }

  get isCut(): boolean {
    return this.server === null;
  }

  async restore(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(this.target.port), this.target.hostname);
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', end).on('close', end);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // The same port again after a cut, so the services' settings stay true.
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
