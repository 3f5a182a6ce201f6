// The Probot baseline: Probot's own middleware (signature check, parsing, dispatch) on a
// bare node:http server, without the Express app and the extra routes `probot run` adds.
// The handler does nothing and nothing is stored. Settings come from the environment as
// Probot reads them (APP_ID, PRIVATE_KEY_PATH, WEBHOOK_SECRET, LOG_LEVEL); HOST and PORT
// say where to listen. GET /ping answers "PONG" so the benchmark can wait for the start.
import { createServer } from "node:http";
import { createNodeMiddleware, createProbot } from "probot";

const app = (probot) => {
  probot.on("issue_comment.created", async () => {});
};

const middleware = await createNodeMiddleware(app, { probot: createProbot() });

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/ping") {
    res.writeHead(200, { "content-type": "text/plain" }).end("PONG");
    return;
  }
  middleware(req, res, () => {
    res.writeHead(404).end();
  });
});

server.listen(Number(process.env.PORT || 3000), process.env.HOST || "127.0.0.1");
