// The staff HTTP API: JSON in and out, errors as {"error": {"code", "message"}}.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** `/files/{id}`: the object key is one URL-encoded path segment (`/` becomes %2F). */
export function filePath(fileId, suffix = "") {
  return `/files/${encodeURIComponent(fileId)}${suffix}`;
}

export class Api {
  constructor(baseUrl, token) {
    this.baseUrl = String(baseUrl).replace(/\/+$/, "");
    this.token = token;
  }

  async request(method, path, { query, body } = {}) {
    let url = this.baseUrl + path;
    if (query) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) {
        if (value !== undefined && value !== null && value !== "") params.set(name, value);
      }
      if ([...params].length) url += `?${params}`;
    }
    const headers = { Authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "network", `Could not reach the mailroom API (${this.baseUrl}).`);
    }
    const payload = await response.json().catch(() => null);
    if (!response.ok) {
      const error = payload && payload.error;
      if (error && error.message) throw new ApiError(response.status, error.code, error.message);
      if (response.status === 401) {
        // API Gateway's JWT authorizer answers {"message": "Unauthorized"} itself.
        throw new ApiError(401, "unauthorized", "You are not signed in, or your session has ended.");
      }
      const text = response.statusText ? ` ${response.statusText}` : "";
      throw new ApiError(response.status, "http", `The API answered ${response.status}${text}.`);
    }
    return payload;
  }

  listFiles(filters, cursor) {
    return this.request("GET", "/files", { query: { ...filters, cursor } });
  }

  getFile(fileId) {
    return this.request("GET", filePath(fileId));
  }

  downloadLink(fileId) {
    return this.request("GET", filePath(fileId, "/download"));
  }

  deleteFile(fileId) {
    return this.request("DELETE", filePath(fileId));
  }

  getMessage(messageId) {
    return this.request("GET", `/messages/${encodeURIComponent(messageId)}`);
  }

  // Issue 21: file a message (and its files) under a case; the API records who and when.
  fileMessage(messageId, caseId) {
    return this.request("POST", `/messages/${encodeURIComponent(messageId)}/file`, { body: { case: caseId } });
  }

  // Issue 22 (admins): held messages, and their release (the extract function does it).
  listQuarantine() {
    return this.request("GET", "/quarantine");
  }

  releaseMessage(messageId, reason, allowVirus) {
    const body = { reason };
    if (allowVirus) body.allow_virus = true;
    return this.request("POST", `/messages/${encodeURIComponent(messageId)}/release`, { body });
  }

  signUpload(file, contentType, caseTag) {
    const body = { filename: file.name, size: file.size, content_type: contentType };
    if (caseTag) body.case = caseTag;
    return this.request("POST", "/uploads", { body });
  }
}

/**
 * POST the file to the presigned form: every signed field, then the file last (S3 ignores
 * fields after it). Resolves when S3 accepts it; onProgress gets a fraction 0..1.
 */
export function postToS3(post, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields || {})) form.append(name, value);
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", post.url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(new ApiError(xhr.status, "storage", storageMessage(xhr.responseText, xhr.status)));
      }
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, "network", "The upload could not reach the storage service.")),
    );
    xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", "Upload cancelled.")));
    xhr.send(form);
  });
}

/** S3 answers errors in XML: <Error><Code/><Message/></Error>. */
function storageMessage(text, status) {
  try {
    const doc = new DOMParser().parseFromString(text || "", "application/xml");
    const message = doc.querySelector("Error > Message");
    const code = doc.querySelector("Error > Code");
    if (message && message.textContent) {
      return `Storage refused the upload: ${message.textContent}${code ? ` (${code.textContent})` : ""}`;
    }
  } catch {
    // not XML: the status says enough
  }
  return `Storage refused the upload (HTTP ${status}).`;
}
