//! The route matrix: every route the server answers, taken from the list
//! the router itself is built from (`twostep_web::declared_routes`), asked
//! by every kind of caller — nobody, half signed in, a session without and
//! with a fresh proof, an app password, an OAuth token, the password over
//! HTTP Basic, an administrator, an account whose email is unconfirmed, and
//! members of a workspace whose two-step policy they meet and do not — must
//! get the answer its declared action gives: refused by the gate for the
//! rule the declaration says (the `x-twostep-refused` header), or let
//! through. Then every SSH command, the same way. A route added without a
//! declaration cannot be built (routes are added only through
//! `web::routes::Routes`, which the last test checks in the source).

use std::collections::BTreeMap;

use serde_json::json;
use twostep_auth::{Action, CallerKind, Scope};
use twostep_web::routes::Declared;

use crate::admin::{cli_ok, sudo, two_step_user};
use crate::common;
use crate::oauth::{app_of_ola, authorise, REDIRECT};
use common::accounts::{account, fresh_session, PASSWORD};
use common::api::ApiClient;
use common::{Raw, Server};

/// One kind of caller, with what the gate would know of it.
struct Profile {
    name: &'static str,
    kind: CallerKind,
    scopes: Vec<Scope>,
    admin: bool,
    two_step_on: bool,
    email_confirmed: bool,
    sudo: bool,
    /// A member of the workspace `acme`, whose policy is enforced.
    in_acme: bool,
    cookie: Option<String>,
    basic: Option<(String, String)>,
    bearer: Option<String>,
}

impl Profile {
    fn new(name: &'static str, kind: CallerKind) -> Profile {
        Profile {
            name,
            kind,
            scopes: Vec::new(),
            admin: false,
            two_step_on: true,
            email_confirmed: true,
            sudo: false,
            in_acme: false,
            cookie: None,
            basic: None,
            bearer: None,
        }
    }
}

/// The rule the declaration says refuses this caller, if any: the rules of
/// the requirement table, restated here from the README.
fn expected(d: &Declared, p: &Profile) -> Option<&'static str> {
    let need = d.action.need();
    let reads_cookie = [
        CallerKind::Anonymous,
        CallerKind::Session,
        CallerKind::HalfSignedIn,
    ]
    .iter()
    .any(|k| need.callers.contains(*k));
    let open = need.callers.contains(CallerKind::Anonymous);
    // Who the gate sees: an action open to anyone reads only the cookie; an
    // action for tools only never reads it.
    let kind = match p.kind {
        CallerKind::AppPassword | CallerKind::OAuthToken | CallerKind::BasicPassword if open => {
            CallerKind::Anonymous
        }
        CallerKind::Session | CallerKind::HalfSignedIn if !reads_cookie => CallerKind::Anonymous,
        k => k,
    };
    if !need.callers.contains(kind) {
        return Some(match kind {
            CallerKind::Anonymous | CallerKind::HalfSignedIn => "sign_in",
            CallerKind::AppPassword | CallerKind::OAuthToken => "bearer",
            CallerKind::BasicPassword => "session",
            CallerKind::Session | CallerKind::SshKey => "token",
            CallerKind::SshCertificate => "ssh_key",
        });
    }
    if kind == CallerKind::Anonymous {
        return None;
    }
    if let (Some(scope), true) = (need.scope, kind.scoped()) {
        let granted = p.scopes.contains(&scope)
            || (scope == Scope::RepoRead && p.scopes.contains(&Scope::RepoWrite));
        if !granted {
            return Some("scope");
        }
    }
    if need.admin {
        if !p.admin {
            return Some("admin");
        }
        if !p.two_step_on {
            return Some("admin_two_step");
        }
    }
    if need.confirmed_email && !p.email_confirmed {
        return Some("email");
    }
    let names_acme = d.path.contains("{workspace}") || d.path.contains("{owner}");
    if need.workspace && names_acme && !p.two_step_on {
        return Some("workspace");
    }
    if need.fresh && !p.sudo {
        return Some("sudo");
    }
    None
}

/// The address of a declared route, its parameters filled in.
fn address(d: &Declared) -> String {
    d.path
        .replace("{workspace}", "acme")
        .replace("{owner}", "acme")
        .replace("{name}", "site")
        .replace("{repo}", "site.git")
        .replace("{username}", "nobody")
        .replace("{provider}", "none")
        .replace("{serial}", "X")
        .replace("{id}", "x")
}

fn ask(server: &Server, d: &Declared, p: &Profile) -> Raw {
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = server.url(&address(d));
    let mut req = http.request(d.method.clone(), url);
    if d.method != reqwest::Method::GET {
        // A body no handler accepts: the gate decides, nothing is changed.
        req = if d.path.starts_with("/api/v1") {
            req.header("content-type", "application/json").body("[]")
        } else {
            req.header("content-type", "application/x-www-form-urlencoded")
                .body("")
        };
    }
    if let Some(c) = &p.cookie {
        req = req.header("cookie", format!("twostep_session={c}"));
    }
    if let Some((u, pw)) = &p.basic {
        req = req.basic_auth(u, Some(pw));
    }
    if let Some(t) = &p.bearer {
        req = req.bearer_auth(t);
    }
    Raw::of(req.send().unwrap())
}

fn session_of(api: &ApiClient) -> String {
    api.cookie("twostep_session").expect("a session cookie")
}

#[test]
fn every_route_answers_every_kind_of_caller_as_its_action_declares() {
    let server = Server::start();
    let routes = twostep_web::declared_routes();
    assert!(routes.len() > 150, "{} routes", routes.len());

    // The workspace acme, policy enforced; sal (two-step on) meets it, bo and
    // wes (two-step off) do not.
    let (sal, mut sal_phone, _) = two_step_user(&server, "sal");
    let bo = account(&server, "bo");
    let wes = account(&server, "wes");
    sal.api
        .ok("POST", "/workspaces", Some(json!({"name": "acme"})));
    sal.api.ok(
        "POST",
        "/workspaces/acme/repositories",
        Some(json!({"name": "site", "private": true})),
    );
    sudo(&sal, &mut sal_phone);
    for who in ["bo", "wes"] {
        sal.api.ok(
            "POST",
            "/workspaces/acme/members",
            Some(json!({"username": who, "role": "write"})),
        );
    }
    sal.api.ok(
        "POST",
        "/workspaces/acme/two-step-policy",
        Some(json!({"require_two_step": true, "grace_seconds": 0})),
    );

    let mut profiles = vec![Profile::new("nobody", CallerKind::Anonymous)];
    // Half signed in: password given, code owed.
    let (_hal, _, _) = two_step_user(&server, "hal");
    let half = ApiClient::new(&server);
    half.ok(
        "POST",
        "/session",
        Some(json!({"login": "hal", "password": PASSWORD})),
    );
    profiles.push(Profile {
        cookie: Some(session_of(&half)),
        ..Profile::new("half signed in", CallerKind::HalfSignedIn)
    });
    // A full session without a fresh proof, and sal's with one.
    let (_pia, mut pia_phone, _) = two_step_user(&server, "pia");
    let plain = fresh_session(&server, "pia", &mut pia_phone);
    profiles.push(Profile {
        cookie: Some(session_of(&plain)),
        ..Profile::new("session", CallerKind::Session)
    });
    profiles.push(Profile {
        cookie: Some(session_of(&sal.api)),
        sudo: true,
        in_acme: true,
        ..Profile::new(
            "session in sudo mode (acme member, policy met)",
            CallerKind::Session,
        )
    });
    // wes: two-step off, in sudo mode (his SSH key was added with the password).
    profiles.push(Profile {
        cookie: Some(session_of(&wes.api)),
        sudo: true,
        two_step_on: false,
        in_acme: true,
        ..Profile::new(
            "session in sudo mode (acme member, policy not met)",
            CallerKind::Session,
        )
    });
    // An administrator in sudo mode.
    let (ada, mut ada_phone, _) = two_step_user(&server, "ada");
    cli_ok(&server, &["grant", "ada"]);
    sudo(&ada, &mut ada_phone);
    profiles.push(Profile {
        cookie: Some(session_of(&ada.api)),
        sudo: true,
        admin: true,
        ..Profile::new("administrator in sudo mode", CallerKind::Session)
    });
    // An unconfirmed address, in sudo mode by its password.
    let uno = common::accounts::unconfirmed(&server, "uno", "uno@example.net");
    uno.ok("POST", "/session/sudo", Some(json!({"password": PASSWORD})));
    profiles.push(Profile {
        cookie: Some(session_of(&uno)),
        sudo: true,
        two_step_on: false,
        email_confirmed: false,
        ..Profile::new("session of an unconfirmed address", CallerKind::Session)
    });
    // An app password with every scope.
    let (apo, mut apo_phone, _) = two_step_user(&server, "apo");
    sudo(&apo, &mut apo_phone);
    let app_password = apo.api.ok(
        "POST",
        "/user/app-passwords",
        Some(json!({"label": "all", "scopes": ["repository:read", "repository:write", "account:read"]})),
    )["password"]
        .as_str()
        .unwrap()
        .to_string();
    profiles.push(Profile {
        basic: Some(("apo".into(), app_password)),
        scopes: Scope::ALL.to_vec(),
        ..Profile::new("app password", CallerKind::AppPassword)
    });
    // An OAuth token (repository:read account:read).
    let (mut ola_phone, _ola_api, app) = app_of_ola(&server, "ci-tool", REDIRECT);
    let web = server.signed_in_browser("ola", &mut ola_phone);
    let tokens = authorise(
        &server,
        &web,
        app["client_id"].as_str().unwrap(),
        &ola_phone.next_code(),
    );
    profiles.push(Profile {
        bearer: Some(tokens["access_token"].as_str().unwrap().to_string()),
        scopes: vec![Scope::RepoRead, Scope::AccountRead],
        ..Profile::new("OAuth token", CallerKind::OAuthToken)
    });
    // The account password over HTTP Basic (bo: two-step off, in acme).
    profiles.push(Profile {
        basic: Some(("bo".into(), PASSWORD.into())),
        two_step_on: false,
        in_acme: true,
        ..Profile::new(
            "password over HTTP Basic (acme member, policy not met)",
            CallerKind::BasicPassword,
        )
    });

    // Signing out ends a profile's session: those routes come last.
    let (last, first): (Vec<&Declared>, Vec<&Declared>) =
        routes.iter().partition(|d| d.action == Action::SignOut);
    let mut wrong = Vec::new();
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    for d in first.into_iter().chain(last) {
        for p in &profiles {
            let want = expected(d, p);
            let got = ask(&server, d, p);
            *seen.entry(want.unwrap_or("let through")).or_default() += 1;
            if got.refused.as_deref() != want {
                wrong.push(format!(
                    "{} {} ({:?}) as {}: declared {:?}, answered {} refused by {:?}",
                    d.method, d.path, d.action, p.name, want, got.status, got.refused
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} answers differ from the declaration:\n{}",
        wrong.len(),
        routes.len() * profiles.len(),
        wrong.join("\n")
    );
    // Every rule was met at least once: the matrix is not all "let through".
    for rule in [
        "sign_in",
        "bearer",
        "session",
        "scope",
        "admin",
        "email",
        "workspace",
        "sudo",
        "let through",
    ] {
        assert!(
            seen.get(rule).copied().unwrap_or(0) > 0,
            "no route met {rule}: {seen:?}"
        );
    }

    // SSH: each command is admitted the same way; bo's key reaches acme's
    // repository only if the policy is met (it is not), his own greeting yes.
    let git = common::git::Git::new(&server, "bo", &bo.key);
    let hello = git.ssh(&[], None);
    assert!(String::from_utf8_lossy(&hello.stdout).contains("logged in as bo"));
    let refused = git.ssh(&["git-upload-pack", "'/acme/site.git'"], None);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("The workspace acme requires two-step verification"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let declared: Vec<Action> = twostep_ssh::COMMANDS.iter().map(|(_, a)| *a).collect();
    for a in [
        Action::SshGreeting,
        Action::SshGit,
        Action::SshRecoveryCodes,
        Action::SshPassword,
        Action::SshRecover,
    ] {
        assert!(declared.contains(&a), "{a:?} has no SSH command");
        // A workspace's certificate reaches Git only.
        let callers: &[CallerKind] = if a == Action::SshGit {
            &[CallerKind::SshKey, CallerKind::SshCertificate]
        } else {
            &[CallerKind::SshKey]
        };
        assert_eq!(
            a.need().callers.kinds().collect::<Vec<_>>(),
            callers,
            "{a:?}"
        );
    }
}

/// Routes are added only through `Routes`, which declares each one's action:
/// no other file of the web crate may build a route by hand.
#[test]
fn no_route_is_added_without_a_declaration() {
    let src = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/src");
    let mut stack = vec![src];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("routes.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for needle in [
                ".route(",
                "axum::routing",
                ".route_service(",
                ".nest_service(",
            ] {
                if text.contains(needle) {
                    offenders.push(format!("{}: {needle}", path.display()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "routes built by hand: {offenders:?}");
    // And every declared route is served at the path it names (nothing two
    // declarations claim twice).
    let mut seen = std::collections::HashSet::new();
    for d in twostep_web::declared_routes() {
        assert!(
            seen.insert((d.method.clone(), d.path.clone())),
            "{} {} declared twice",
            d.method,
            d.path
        );
    }
}
