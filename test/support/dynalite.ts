/**
 * A real DynamoDB API (dynalite, in memory) on a loopback port, with the tasks table.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import dynalite from 'dynalite';
import { AnswersInFlight } from '../../local/http';

export interface TestDynamo {
  endpoint: string;
  port: number;
  client: DynamoDBClient;
  /** dynalite's own HTTP server, behind the relay. */
  backend: Server;
  createTable(name: string): Promise<void>;
  /** Stops the server (the data is lost). */
  stop(): Promise<void>;
  /** Stops answering: the endpoint refuses connections (the data is kept). */
  pause(): Promise<void>;
  /** Listens again on the same port, with the same data. */
  resume(): Promise<void>;
  /** Keeps accepting requests but answers none (a hung endpoint) until {@link TestDynamo.unstall}. */
  stall(): void;
  /**
   * Holds the requests whose first bytes pass `test` (and what follows on their connection),
   * unanswered, until {@link TestDynamo.unstall}; other requests go on.
   */
  stallWhen(test: (chunk: Buffer) => boolean): void;
  /** Passes the requests held by {@link TestDynamo.stall} on, in order, and answers again. */
  unstall(): void;
}

export const testCredentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/**
 * dynalite behind a small TCP relay: closing dynalite itself would drop its in-memory data, so
 * "the endpoint stops" is the relay closing, and "it starts again" the relay listening again.
 */
export async function startDynamo(): Promise<TestDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Closing dynalite closes its database: a request still being processed (say, from a caller
  // that gave up) would then throw "Database is closed", an uncaught error of whichever test runs.
  const inFlight = new AnswersInFlight();
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => inFlight.track(res));
  const backendPort = (server.address() as AddressInfo).port;
  const sockets = new Set<Socket>();
  let stalled = false;
  let stallTest: ((chunk: Buffer) => boolean) | undefined;
  let generation = 0;
  const held: Array<() => void> = [];
  const heldByTest: Array<() => void> = [];
  const relay = createServer((client) => {
    const backend = connect(backendPort, '127.0.0.1');
    sockets.add(client).add(backend);
    // The stall generation this connection is held in by stallWhen (a connection, once held, stays held until unstall).
    let heldIn = -1;
    const forward = (chunk: Buffer) => {
      if (!backend.destroyed) backend.write(chunk);
    };
    client.on('data', (chunk: Buffer) => {
      if (heldIn !== generation && stallTest?.(chunk)) heldIn = generation;
      if (heldIn === generation) heldByTest.push(() => forward(chunk));
      else if (stalled || held.length > 0) held.push(() => forward(chunk));
      else forward(chunk);
    });
    backend.pipe(client);
    const end = () => {
      client.destroy();
      backend.destroy();
      sockets.delete(client);
      sockets.delete(backend);
    };
    client.on('error', end).on('close', end);
    backend.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const port = (relay.address() as AddressInfo).port;
  const closeRelay = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  };
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: testCredentials, maxAttempts: 1 });
  return {
    endpoint,
    port,
    client,
    backend: server,
    async createTable(name) {
      await client.send(
        new CreateTableCommand({
          TableName: name,
          AttributeDefinitions: [{ AttributeName: 'RequestID', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'RequestID', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    },
    async stop() {
      client.destroy();
      if (relay.listening) await closeRelay();
      await inFlight.idle();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    pause: closeRelay,
    stall() {
      stalled = true;
    },
    stallWhen(test) {
      stallTest = test;
    },
    unstall() {
      stalled = false;
      stallTest = undefined;
      generation += 1;
      for (const next of [...heldByTest.splice(0), ...held.splice(0)]) next();
    },
    async resume() {
      await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve));
    },
  };
}
