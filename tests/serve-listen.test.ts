// The one test on a real socket: by default the service binds to loopback only.
import * as os from "node:os";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { createServer, isLoopback, listen } from "../lib/serve";
import { createFakeModel, FAKE_EVENT_COLUMNS } from "./helpers/serve-fake-model";

const app = createServer(createFakeModel(), { eventColumns: FAKE_EVENT_COLUMNS });

afterAll(async () => {
  await app.close();
});

describe("listen", () => {
  it("binds 127.0.0.1 on a free port by default, and answers over HTTP there", async () => {
    const url = await listen(app, { port: 0 });
    const { address, port } = app.server.address() as AddressInfo;
    expect(address).toBe("127.0.0.1");
    expect(port).toBeGreaterThan(0);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const response = await fetch(`${url}/v1/recommend`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ session: [{ city_id: 120, checkin: "2016-08-13" }], k: 2 }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ items: [121, 122], scores: [1, 0.5] });

    // Not reachable on this machine's other addresses (when it has any).
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((info) => info !== undefined && info.family === "IPv4" && !info.internal);
    if (external !== undefined) await expect(fetch(`http://${external.address}:${port}/healthz`)).rejects.toThrow();
  });

  it("says when the port is taken", async () => {
    const { port } = app.server.address() as AddressInfo;
    const other = createServer(createFakeModel());
    await expect(listen(other, { port })).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: the port is in use`);
    await other.close();
  });

  it("tells loopback addresses, which only this machine reaches, from the others", () => {
    for (const url of [
      "http://127.0.0.1:8080",
      "http://127.1.2.3:1",
      "http://[::1]:8080",
      "http://[::ffff:127.0.0.1]:80",
    ])
      expect([url, isLoopback(url)]).toEqual([url, true]);
    for (const url of ["http://0.0.0.0:8080", "http://[::]:8080", "http://192.168.1.5:8080", "http://10.0.0.1:80"])
      expect([url, isLoopback(url)]).toEqual([url, false]);
  });
});
