// The page's only script (no inline script: the Content-Security-Policy forbids it).
// Reads /v1 with the HttpOnly cookie; every piece of data goes in through textContent.
"use strict";

const JOB_POLL_MS = 1000;
const WORKFLOW_POLL_MS = 10000;
const FINISHED = new Set(["Completed", "Errored", "Cancelled"]);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function when(seconds) {
  if (seconds === null || seconds === undefined) return "";
  return new Date(seconds * 1000).toLocaleString();
}

function showState(text, isError) {
  const state = document.getElementById("state");
  state.textContent = text;
  state.className = isError ? "error" : "";
}

// GET a /v1 route as JSON: {status, body}; body is null when the answer is not JSON.
async function getJSON(path) {
  const response = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  return { status: response.status, body };
}

function signedOut() {
  showState("Not signed in: open the link `lazyarray serve` printed.", true);
}

function progressCell(job) {
  const cell = el("td", null, "progress");
  const bar = el("progress");
  if (job.total_steps > 0) {
    bar.max = job.total_steps;
    bar.value = Math.min(job.completed_steps, job.total_steps);
  } else if (FINISHED.has(job.status)) {
    bar.max = 1;
    bar.value = job.status === "Completed" ? 1 : 0;
  } // else: indeterminate, the job has not reported its steps yet
  cell.append(bar, el("span", `${job.completed_steps}/${job.total_steps}`, "steps"));
  return cell;
}

async function cancelJob(jobId, button) {
  button.disabled = true;
  button.textContent = "cancelling…";
  const response = await fetch(`/page/jobs/${encodeURIComponent(jobId)}/cancel`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-Lazyarray-Page": "cancel" },
  });
  if (!response.ok) {
    button.disabled = false;
    button.textContent = "cancel";
    showState(`cancel failed: HTTP ${response.status}`, true);
  }
}

function jobRow(job) {
  const row = el("tr");
  row.dataset.jobId = job.job_id;
  row.dataset.status = job.status;
  const action = el("td");
  if (!FINISHED.has(job.status)) {
    const button = el("button", "cancel");
    button.type = "button";
    button.addEventListener("click", () => cancelJob(job.job_id, button));
    action.append(button);
  }
  row.append(
    el("td", job.job_id, "job"),
    el("td", job.status, `status ${job.status}`),
    progressCell(job),
    el("td", job.attempts, "attempts"),
    el("td", when(job.created)),
    el("td", when(job.started)),
    el("td", when(job.finished)),
    el("td", job.message, "message"),
    action,
  );
  return row;
}

async function refreshJobs() {
  const { status, body } = await getJSON("/v1/jobs?limit=100");
  if (status === 401) return signedOut();
  if (status !== 200 || !body || !Array.isArray(body.jobs)) {
    showState(`jobs: HTTP ${status}`, true);
    return;
  }
  const table = document.getElementById("jobs");
  const rows = body.jobs.map(jobRow);
  table.tBodies[0].replaceChildren(...rows);
  table.hidden = rows.length === 0;
  document.getElementById("jobs-empty").hidden = rows.length !== 0;
  showState(`updated ${new Date().toLocaleTimeString()}`, false);
}

function argumentText(argument) {
  const shape = (argument.shape || []).map((n) => (n === null ? "?" : n)).join(", ");
  return `${argument.name}: ${argument.dtype}[${shape}]`;
}

function versionItem(version) {
  const item = el("li", null, "version");
  item.dataset.version = version.version;
  const args = (version.arguments || []).map(argumentText).join(", ");
  item.append(el("strong", version.version), el("span", ` (${args}) · ${when(version.created)}`));
  if (version.docstring) item.append(el("pre", version.docstring, "docstring"));
  return item;
}

async function workflowBlock(workflow) {
  const block = el("div", null, "workflow");
  block.dataset.workflowId = workflow.id;
  block.append(el("h3", workflow.id));
  if (workflow.title) block.append(el("p", workflow.title, "title"));
  if (workflow.description) block.append(el("p", workflow.description, "description"));
  if (workflow.tags && workflow.tags.length) {
    block.append(el("p", `tags: ${workflow.tags.join(", ")}`, "tags"));
  }
  const { status, body } = await getJSON(
    `/v1/workflows/${encodeURIComponent(workflow.id)}/versions`,
  );
  const list = el("ul", null, "versions");
  if (status === 200 && body && Array.isArray(body.versions)) {
    list.append(...body.versions.map(versionItem));
  } else {
    list.append(el("li", `versions: HTTP ${status}`));
  }
  block.append(list);
  return block;
}

async function refreshWorkflows() {
  const { status, body } = await getJSON("/v1/workflows");
  if (status === 401) return signedOut();
  const blocks =
    status === 200 && body && Array.isArray(body.workflows)
      ? await Promise.all(body.workflows.map(workflowBlock))
      : []; // 404: a server without workflow routes has no workflows to show
  document.getElementById("workflows").replaceChildren(...blocks);
  document.getElementById("workflows-empty").hidden = blocks.length !== 0;
}

// Polls one refresh function, never two at a time, pausing while the tab is hidden.
function poll(refresh, everyMs) {
  async function tick() {
    if (!document.hidden) {
      try {
        await refresh();
      } catch (error) {
        showState(`server unreachable (${error.message})`, true);
      }
    }
    setTimeout(tick, everyMs);
  }
  tick();
}

poll(refreshJobs, JOB_POLL_MS);
poll(refreshWorkflows, WORKFLOW_POLL_MS);
