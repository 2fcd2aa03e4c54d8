// A one-hop TCP echo server on node:net (the API MQTT.js runs on), for the cadence floors beside
// Bun.listen's (scripts/lib/bench/echo-floor.ts) and C's (bench/minimal-pair.c). Run: bun scripts/bench/node-echo.ts PORT
import { createServer } from "node:net";

const port = Number(process.argv[2]);
createServer((socket) => {
  socket.setNoDelay(true);
  socket.on("data", (data) => socket.write(data));
}).listen({ host: "127.0.0.1", port }, () => console.log("ready"));
