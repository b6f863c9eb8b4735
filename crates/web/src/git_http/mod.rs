//! Git smart HTTP at /OWNER/REPO.git, served by the real `git http-backend`.
//! HTTP Basic: an app password, or the account password while two-step
//! verification is off. Messages are text/plain, which git shows the user.

use crate::routes::{Routes, Surface};
use std::process::Stdio;
use twostep_auth::Action;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use twostep_auth::{Access, AuthError, Scope};

use crate::parse::{git_service, CgiHead, GitService};
use crate::AppState;

pub fn router() -> Routes {
    Routes::new(Surface::Git)
        .get("/{owner}/{repo}/info/refs", Action::GitOverHttp, serve)
        .post(
            "/{owner}/{repo}/git-upload-pack",
            Action::GitOverHttp,
            serve,
        )
        .post(
            "/{owner}/{repo}/git-receive-pack",
            Action::GitOverHttp,
            serve,
        )
}

pub(crate) fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut body = msg.into();
    body.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A refusal as git shows it: the one status mapping, the message as text.
fn refused(e: AuthError) -> Response {
    let e = crate::Error::from(e);
    text(e.status, e.message)
}

async fn serve(
    State(state): State<AppState>,
    Path((owner, repo)): Path<(String, String)>,
    req: Request,
) -> Response {
    let Some(name) = repo.strip_suffix(".git") else {
        return text(
            StatusCode::NOT_FOUND,
            "Not found: Git URLs end in .git, like /OWNER/REPO.git",
        );
    };
    let path = req.uri().path().to_string();
    // git http-backend decodes the query: decide on the decoded service and
    // hand git a normalised query, so what was authorised is what runs.
    let service = if path.ends_with("/info/refs") {
        match git_service(req.uri().query().unwrap_or("")) {
            Ok(s) => s,
            Err(msg) => return text(StatusCode::FORBIDDEN, msg),
        }
    } else if path.ends_with("/git-receive-pack") {
        GitService::ReceivePack
    } else {
        GitService::UploadPack
    };
    let query = if path.ends_with("/info/refs") {
        format!("service={}", service.name())
    } else {
        String::new()
    };
    let write = service == GitService::ReceivePack;
    // The gate let in an app password, a token or the account password.
    let Some(principal) = req
        .extensions()
        .get::<crate::gate::Admitted>()
        .and_then(|a| a.caller.clone())
    else {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side.",
        );
    };
    let (scope, need) = if write {
        (Scope::RepoWrite, Access::Write)
    } else {
        (Scope::RepoRead, Access::Read)
    };
    if let Err(e) = twostep_auth::require_scope(principal.scopes(), scope) {
        return refused(e);
    }
    let repo_path = match state
        .auth
        .repos()
        .authorize_repo(&principal.user.id, &owner, name, need)
        .await
    {
        Ok((_, p)) => p,
        Err(AuthError::NotFound) => {
            return text(
                StatusCode::NOT_FOUND,
                format!("Repository {owner}/{name} not found, or you do not have access to it."),
            )
        }
        Err(e) => return refused(e),
    };
    // Each backend is a process with three pipes: their number is bounded
    // for the node, whatever HTTP/2 multiplexes onto few connections.
    let Ok(Ok(slot)) = tokio::time::timeout(BACKEND_WAIT, BACKENDS.clone().acquire_owned()).await
    else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is running as many Git operations as it can; try again in a moment.",
        );
    };
    match run_backend(
        &state,
        slot,
        &repo_path,
        &path,
        &owner,
        name,
        &query,
        &principal.user.username,
        req,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "git http-backend failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The Git backend failed; try again.",
            )
        }
    }
}

/// `git http-backend` processes running at once on this node.
const MAX_BACKENDS: usize = 256;
/// How long a request waits for one before a 503.
const BACKEND_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
static BACKENDS: std::sync::LazyLock<std::sync::Arc<tokio::sync::Semaphore>> =
    std::sync::LazyLock::new(|| std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_BACKENDS)));

#[allow(clippy::too_many_arguments)]
async fn run_backend(
    state: &AppState,
    slot: tokio::sync::OwnedSemaphorePermit,
    repo_path: &std::path::Path,
    path: &str,
    owner: &str,
    name: &str,
    query: &str,
    username: &str,
    req: Request,
) -> std::io::Result<Response> {
    let suffix = path
        .rsplit_once(&format!("/{name}.git"))
        .map(|(_, s)| s.to_string())
        .unwrap_or_default();
    let root = repo_path
        .parent()
        .and_then(|p| p.parent())
        .unwrap_or(&state.auth.settings().repos_dir)
        .to_path_buf();
    let headers = req.headers().clone();
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", &root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .envs(twostep_auth::GIT_CONFIG_ENV)
        .env("PATH_INFO", format!("/{owner}/{name}.git{suffix}"))
        .env("REQUEST_METHOD", req.method().as_str())
        .env("QUERY_STRING", query)
        .env("REMOTE_USER", username)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env(
            "CONTENT_TYPE",
            headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(enc) = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
    {
        cmd.env("HTTP_CONTENT_ENCODING", enc);
    }
    if let Some(p) = headers
        .get("git-protocol")
        .and_then(|v| v.to_str().ok())
        .and_then(twostep_core::validate::git_protocol)
    {
        cmd.env("GIT_PROTOCOL", p);
    }
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
    {
        cmd.env("CONTENT_LENGTH", len);
    }
    let service = match suffix.as_str() {
        "/git-upload-pack" => "git-upload-pack",
        "/git-receive-pack" => "git-receive-pack",
        _ => "info-refs",
    };
    let mut running = state.auth.repos().git_operation("https", service);
    let mut child = cmd.spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no stdin"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("no stdout"))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| std::io::Error::other("no stderr"))?;
    let is_post = req.method() == Method::POST;
    let pushed = (is_post && suffix == "/git-receive-pack")
        .then(|| (state.auth.clone(), repo_path.to_path_buf()));
    let body = req.into_body();
    tokio::spawn(async move {
        if is_post {
            let stream = body.into_data_stream().map_err(std::io::Error::other);
            let mut reader = tokio_util::io::StreamReader::new(stream);
            if let Err(e) = tokio::io::copy(&mut reader, &mut stdin).await {
                tracing::debug!(error = %e, "request body to git http-backend ended early");
            }
        }
        drop(stdin);
    });
    tokio::spawn(async move {
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err).await;
        if !err.trim().is_empty() {
            tracing::warn!(stderr = %err.trim(), "git http-backend");
        }
        let ok = child.wait().await.is_ok_and(|s| s.success());
        if ok {
            running.succeeded();
        }
        drop(running);
        drop(slot);
        if let (true, Some((auth, repo))) = (ok, pushed) {
            auth.repos().after_push(&repo);
        }
    });
    // CGI: headers, a blank line, then the body.
    let mut reader = BufReader::new(stdout);
    let mut head = CgiHead::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(crate::parse::MAX_CGI_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            break;
        }
        if head.line(&line).map_err(std::io::Error::other)? {
            break;
        }
    }
    let (status, response_headers) = (head.status, head.headers);
    let stream = tokio_util::io::ReaderStream::new(reader);
    let mut res = Response::new(Body::from_stream(stream));
    *res.status_mut() = status;
    *res.headers_mut() = response_headers;
    Ok(res)
}
