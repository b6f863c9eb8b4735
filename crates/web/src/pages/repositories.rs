use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twostep_auth::Action;
use twostep_auth::{Access, RepoView, SessionInfo};

use super::{
    form_errors, form_failure, refused, render, render_status, CsrfForm, FormBody, FormError, Page,
};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/repositories", Action::ReadRepositories, list)
        .post("/repositories", Action::CreateRepository, create)
        .get(
            "/repositories/{owner}/{name}",
            Action::ReadRepositories,
            show,
        )
        .post(
            "/repositories/{owner}/{name}/delete",
            Action::DeleteRepository,
            delete,
        )
        .post(
            "/repositories/{owner}/{name}/collaborators",
            Action::ManageCollaborators,
            add_collaborator,
        )
        .post(
            "/repositories/{owner}/{name}/collaborators/{username}/remove",
            Action::ManageCollaborators,
            remove_collaborator,
        )
}

#[derive(Template)]
#[template(path = "repositories.html")]
struct ListPage {
    page: Page,
    repos: Vec<RepoView>,
    name: String,
    description: String,
    error: Option<FormError>,
}
form_errors!(ListPage);

async fn list_page(state: &AppState, s: &SessionInfo, csrf: &Csrf) -> Result<ListPage, Error> {
    let repos = state.auth.repos().list_repos(&s.user.id).await?;
    Ok(ListPage {
        page: Page::new(state, Some(s), csrf),
        repos,
        name: String::new(),
        description: String::new(),
        error: None,
    })
}

async fn list(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
) -> Result<Response, Error> {
    render(&list_page(&state, &s, &csrf).await?)
}

#[derive(Deserialize)]
struct CreateForm {
    csrf: String,
    name: String,
    #[serde(default)]
    description: String,
    private: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<CreateForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    match state
        .auth
        .repos()
        .create_repo(
            &s.user.id,
            &f.name,
            &f.description,
            f.private.is_some(),
            &ctx,
        )
        .await
    {
        Ok(r) => Ok(Redirect::to(&format!("/repositories/{}/{}", r.owner, r.name)).into_response()),
        Err(e) => {
            let (status, error) = form_failure(e)?;
            let mut p = list_page(&state, &s, &csrf).await?;
            p.error = Some(error);
            p.name = f.name;
            p.description = f.description;
            render_status(status, &p)
        }
    }
}

#[derive(Template)]
#[template(path = "repository.html")]
struct RepoPage {
    page: Page,
    owner: String,
    name: String,
    description: String,
    private: bool,
    clone_ssh: String,
    clone_https: String,
    fingerprint: String,
    admin: bool,
    /// A workspace's repository: its members have access.
    workspace: bool,
    /// Username and access.
    collaborators: Vec<(String, Access)>,
    error: Option<FormError>,
}
form_errors!(RepoPage);

async fn repo_page(
    state: &AppState,
    s: &SessionInfo,
    csrf: &Csrf,
    owner: &str,
    name: &str,
) -> Result<RepoPage, Error> {
    let r = state.auth.repos().repo(&s.user.id, owner, name).await?;
    // Collaborators and deletion are a personal repository's: a workspace's
    // repositories take their access from its members.
    let admin = r.access == Access::Admin && !r.workspace;
    let collaborators = if admin {
        state
            .auth
            .repos()
            .collaborators(&s.user.id, owner, name)
            .await?
    } else {
        Vec::new()
    };
    let st = state.auth.settings();
    Ok(RepoPage {
        page: Page::new(state, Some(s), csrf),
        clone_ssh: format!("{}/{}/{}.git", st.ssh_url, r.owner, r.name),
        clone_https: format!("{}/{}/{}.git", st.public_url, r.owner, r.name),
        fingerprint: st.ssh_fingerprint.clone(),
        owner: r.owner,
        name: r.name,
        description: r.description,
        private: r.private,
        admin,
        workspace: r.workspace,
        collaborators,
        error: None,
    })
}

async fn show(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Path((owner, name)): Path<(String, String)>,
) -> Result<Response, Error> {
    render(&repo_page(&state, &s, &csrf, &owner, &name).await?)
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf: String,
    #[serde(default)]
    confirm: String,
}

async fn delete(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path((owner, name)): Path<(String, String)>,
    FormBody(f): FormBody<ConfirmForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    match state
        .auth
        .repos()
        .delete_repo(&s.user.id, &owner, &name, &f.confirm, &ctx)
        .await
    {
        Ok(()) => Ok(Redirect::to("/repositories").into_response()),
        Err(e) => refused(e, repo_page(&state, &s, &csrf, &owner, &name)).await,
    }
}

#[derive(Deserialize)]
struct CollaboratorForm {
    csrf: String,
    username: String,
    access: String,
}

async fn add_collaborator(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path((owner, name)): Path<(String, String)>,
    FormBody(f): FormBody<CollaboratorForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let result = match twostep_auth::collaborator_access(&f.access) {
        Ok(access) => {
            state
                .auth
                .repos()
                .set_collaborator(&s.user.id, &owner, &name, &f.username, Some(access), &ctx)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/repositories/{owner}/{name}")).into_response()),
        Err(e) => refused(e, repo_page(&state, &s, &csrf, &owner, &name)).await,
    }
}

async fn remove_collaborator(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path((owner, name, who)): Path<(String, String, String)>,
    FormBody(f): FormBody<CsrfForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    state
        .auth
        .repos()
        .set_collaborator(&s.user.id, &owner, &name, &who, None, &ctx)
        .await?;
    Ok(Redirect::to(&format!("/repositories/{owner}/{name}")).into_response())
}
