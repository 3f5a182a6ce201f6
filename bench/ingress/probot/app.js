// The smallest useful Probot app: Probot verifies the signature and parses the delivery,
// the handler does nothing and nothing is stored.
module.exports = (app) => {
  app.on("issue_comment.created", async () => {});
};
