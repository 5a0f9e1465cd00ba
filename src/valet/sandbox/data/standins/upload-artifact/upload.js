// valet sandbox stand-in for actions/upload-artifact@v4: the same inputs and outputs,
// speaking the artifact service protocol through @actions/artifact (tools/node).
'use strict';
const fs = require('fs');
const path = require('path');

function lib(name) {
  const where = process.env.VALET_STANDIN_NODE_MODULES;
  if (!where) throw new Error('VALET_STANDIN_NODE_MODULES is not set (run this through valet\'s act runner)');
  return require(require.resolve(name, {paths: [where]}));
}

const core = lib('@actions/core');
// @actions/artifact refuses to run when GITHUB_SERVER_URL is not github.com (GHES has
// no v4 artifact service). Here act's artifact server plays the service, whatever the
// sandbox's server URL is, so the library is told it runs on github.com.
const serverUrl = process.env.GITHUB_SERVER_URL || '';
process.env.GITHUB_SERVER_URL = 'https://github.com';
const glob = lib('@actions/glob');
const {DefaultArtifactClient} = lib('@actions/artifact');

function commonRoot(dirs) {
  const split = dirs.map((d) => path.resolve(d).split(path.sep));
  const first = split[0];
  let n = first.length;
  for (const parts of split.slice(1)) {
    let i = 0;
    while (i < n && i < parts.length && parts[i] === first[i]) i += 1;
    n = i;
  }
  return first.slice(0, n).join(path.sep) || path.sep;
}

async function main() {
  const name = core.getInput('name') || 'artifact';
  const onMissing = core.getInput('if-no-files-found') || 'warn';
  const hidden = core.getBooleanInput('include-hidden-files');
  const globber = await glob.create(core.getInput('path', {required: true}),
                                    {implicitDescendants: true, excludeHiddenFiles: !hidden});
  const files = (await globber.glob()).filter((f) => fs.statSync(f).isFile());
  if (files.length === 0) {
    const message = `No files were found with the provided path: ${core.getInput('path')}. No artifacts will be uploaded.`;
    if (onMissing === 'error') { core.setFailed(message); return; }
    if (onMissing === 'warn') core.warning(message);
    return;
  }
  // As upload-artifact does: paths inside the artifact are relative to the least
  // common ancestor of the search paths (a single directory: that directory).
  const searchPaths = globber.getSearchPaths();
  let root = searchPaths.length === 1 ? searchPaths[0] : commonRoot(searchPaths);
  if (fs.existsSync(root) && fs.statSync(root).isFile()) root = path.dirname(root);
  const client = new DefaultArtifactClient();
  if (core.getBooleanInput('overwrite')) {
    try { await client.deleteArtifact(name); } catch (e) { core.debug(`nothing to overwrite: ${e}`); }
  }
  const options = {compressionLevel: Number(core.getInput('compression-level') || 6)};
  const days = Number(core.getInput('retention-days') || 0);
  if (days > 0) options.retentionDays = days;
  const res = await client.uploadArtifact(name, files, root, options);
  core.info(`Artifact ${name} has been successfully uploaded! Final size is ${res.size} bytes. Artifact ID is ${res.id}`);
  core.setOutput('artifact-id', String(res.id));
  core.setOutput('artifact-digest', res.digest || '');
  const server = serverUrl;
  core.setOutput('artifact-url',
    `${server}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}/artifacts/${res.id}`);
}

main().catch((e) => core.setFailed(e && e.message ? e.message : String(e)));
