//! Workspaces: repositories under WORKSPACE/NAME.git for their members, and
//! "require two-step verification" with a grace period: a member without it
//! clones during the grace, is refused after it on SSH, HTTPS (app password
//! or account password) and the API with the policy named, and clones again
//! once two-step is on. Nobody is removed.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common;
use common::accounts::{account, enable_two_step, PASSWORD};
use common::git::{working_copy, Git};
use common::Server;

fn clone_into(git: &Git, url: &str, dir: &std::path::Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    let out = git.run(&["clone", "-q", url, dir.to_str().unwrap()], None);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn a_workspace_that_requires_two_step_refuses_members_without_it_after_the_grace() {
    let server = Server::start();
    let olga = account(&server, "olga");
    let (mut olga_phone, _) = enable_two_step(&server, &olga);
    let max = account(&server, "max");
    let nina = account(&server, "nina");

    // Workspace names and usernames are one namespace.
    olga.api.err(
        "POST",
        "/workspaces",
        Some(json!({"name": "max"})),
        422,
        "workspace_name_taken",
    );
    olga.api
        .ok("POST", "/workspaces", Some(json!({"name": "acme"})));
    let anon = common::api::ApiClient::new(&server);
    anon.err(
        "POST",
        "/users",
        Some(json!({"username": "acme", "email": "x@example.net", "password": PASSWORD})),
        422,
        "username_taken",
    );

    let created = olga.api.ok(
        "POST",
        "/workspaces/acme/repositories",
        Some(json!({"name": "site"})),
    );
    assert!(
        created["clone_ssh"]
            .as_str()
            .unwrap()
            .ends_with("/acme/site.git"),
        "{created}"
    );
    // Members are a security setting: a fresh second factor first.
    olga.api.ok(
        "POST",
        "/session/sudo",
        Some(json!({"code": olga_phone.next_code()})),
    );
    olga.api.ok(
        "POST",
        "/workspaces/acme/members",
        Some(json!({"username": "max", "role": "write"})),
    );
    olga.api.err(
        "POST",
        "/workspaces/acme/members",
        Some(json!({"username": "max", "role": "owner"})),
        422,
        "invalid_role",
    );
    olga.api.err(
        "DELETE",
        "/workspaces/acme/members/olga",
        None,
        409,
        "conflict",
    );
    max.api.err(
        "POST",
        "/workspaces/acme/members",
        Some(json!({"username": "nina", "role": "admin"})),
        403,
        "forbidden",
    );

    // A member with write pushes over SSH; a stranger does not see it.
    let max_git = Git::new(&server, "max", &max.key);
    let ssh_url = max_git.ssh_url("acme", "site");
    let wc = server.data.path().join("max-wc");
    working_copy(&max_git, &wc, &[("index.html", "<h1>acme</h1>\n")]);
    max_git.ok(&["push", "-q", &ssh_url, "HEAD:main"], Some(&wc));
    let nina_git = Git::new(&server, "nina", &nina.key);
    let err = clone_into(
        &nina_git,
        &nina_git.ssh_url("acme", "site"),
        &server.data.path().join("nina-c"),
    )
    .unwrap_err();
    assert!(err.contains("not found"), "{err}");

    // Max's app password, for HTTPS.
    let token = max.api.ok(
        "POST",
        "/user/app-passwords",
        Some(json!({"label": "laptop", "scopes": ["repository:write"], "password": PASSWORD})),
    )["password"]
        .as_str()
        .unwrap()
        .to_string();
    let https = server.url("/acme/site.git");
    let max_https = Git::new(&server, "max-https", &max.key);
    max_https.store_credentials(&server, "max", &token);

    // The policy needs a workspace admin's fresh factor.
    max.api.err(
        "POST",
        "/workspaces/acme/two-step-policy",
        Some(json!({"require_two_step": true})),
        403,
        "forbidden",
    );
    let out_of_range = olga.api.err(
        "POST",
        "/workspaces/acme/two-step-policy",
        Some(json!({"require_two_step": true, "grace_seconds": 100_000_000})),
        422,
        "invalid_grace_period",
    );
    assert_eq!(
        out_of_range["error"]["field"], "grace_seconds",
        "{out_of_range}"
    );
    // Long enough for two clones on a loaded machine.
    let grace = 15;
    let set = olga.api.ok(
        "POST",
        "/workspaces/acme/two-step-policy",
        Some(json!({"require_two_step": true, "grace_seconds": grace, "code": olga_phone.next_code()})),
    );
    let started = Instant::now();
    assert_eq!(set["state"], "grace", "{set}");
    let mail = server.mail.wait_for(
        "max@example.net",
        "A workspace requires two-step verification",
    );
    assert!(
        mail.raw
            .contains("The workspace acme requires two-step verification from"),
        "{}",
        mail.raw
    );
    assert_eq!(
        server
            .mail
            .count("olga@example.net", "A workspace requires"),
        0,
        "olga has two-step on"
    );

    // During the grace: a banner, and everything works.
    let page = max
        .api
        .client
        .get(server.url("/repositories"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(common::texts(&page, ".workspace-banner").len(), 1, "{page}");
    assert!(common::texts(&page, ".workspace-banner")[0]
        .contains("acme requires two-step verification from"));
    let c1 = server.data.path().join("c1");
    clone_into(&max_git, &ssh_url, &c1).expect("SSH clone during the grace");
    clone_into(&max_https, &https, &server.data.path().join("c2"))
        .expect("HTTPS clone during the grace");

    // After it: refused on every channel, with the policy named.
    std::thread::sleep(
        Duration::from_secs(grace).saturating_sub(started.elapsed()) + Duration::from_secs(1),
    );
    let err = clone_into(&max_git, &ssh_url, &c1).unwrap_err();
    assert!(
        err.contains("The workspace acme requires two-step verification"),
        "{err}"
    );
    let err = clone_into(&max_https, &https, &server.data.path().join("c3")).unwrap_err();
    assert!(
        err.contains("The workspace acme requires two-step verification"),
        "app password: {err}"
    );
    let by_password = Git::new(&server, "max-password", &max.key);
    by_password.store_credentials(&server, "max", PASSWORD);
    let err = clone_into(&by_password, &https, &server.data.path().join("c4")).unwrap_err();
    assert!(
        err.contains("requires two-step verification"),
        "account password: {err}"
    );
    let page = max
        .api
        .client
        .get(server.url("/repositories/acme/site"))
        .send()
        .unwrap();
    assert_eq!(page.status().as_u16(), 403, "the page too");
    assert!(page
        .text()
        .unwrap()
        .contains("The workspace acme requires two-step verification"));
    let v = max
        .api
        .err("GET", "/repositories/acme/site", None, 403, "forbidden");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("acme requires two-step"));
    max.api.err(
        "POST",
        "/workspaces/acme/repositories",
        Some(json!({"name": "other"})),
        403,
        "forbidden",
    );
    assert_eq!(
        max.api.ok("GET", "/workspaces", None)[0]["two_step_policy"]["state"],
        "enforced"
    );
    // …while the admin with two-step clones as before.
    let olga_git = Git::new(&server, "olga", &olga.key);
    clone_into(
        &olga_git,
        &olga_git.ssh_url("acme", "site"),
        &server.data.path().join("c5"),
    )
    .expect("olga clones");

    // The workspace page shows the policy and who still has two-step off.
    let html = olga
        .api
        .client
        .get(server.url("/workspaces/acme"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        common::texts(&html, "#policy")[0].starts_with("required since"),
        "{html}"
    );
    let rows = common::texts(&html, "#members tbody tr");
    assert!(
        rows[0].contains("max") && rows[0].contains("off"),
        "{rows:?}"
    );
    assert_eq!(
        common::texts(&html, "#repositories tbody tr td:first-child"),
        ["site"]
    );

    // Turning two-step on brings max back, app password included; he is still a member.
    enable_two_step(&server, &max);
    clone_into(&max_git, &ssh_url, &c1).expect("SSH clone with two-step on");
    clone_into(&max_https, &https, &server.data.path().join("c6"))
        .expect("HTTPS with the same app password");
    let w = olga.api.ok("GET", "/workspaces/acme", None);
    let members: Vec<(String, bool)> = w["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["username"].as_str().unwrap().to_string(),
                m["two_step"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        members,
        [("max".to_string(), true), ("olga".to_string(), true)]
    );
    assert_eq!(
        common::texts(
            &max.api
                .client
                .get(server.url("/repositories"))
                .send()
                .unwrap()
                .text()
                .unwrap(),
            ".workspace-banner"
        )
        .len(),
        0
    );
}

#[test]
fn workspaces_are_made_and_staffed_on_the_pages() {
    use common::pages::sign_up_confirmed;
    let server = Server::start();
    let pia = sign_up_confirmed(&server, "pia");
    sign_up_confirmed(&server, "quinn");
    let made = pia.submit("/workspaces", "/workspaces", &[("name", "Pia-Team")]);
    made.assert_path("/workspaces/pia-team")
        .assert_contains("Workspace created: you are its admin.");
    let taken = pia.submit("/workspaces", "/workspaces", &[("name", "quinn")]);
    assert_eq!(taken.status, 422);
    assert_eq!(
        common::texts(&taken.body, "#name-error"),
        ["The name \"quinn\" is taken. Choose another."]
    );
    let page = "/workspaces/pia-team";
    pia.submit(
        page,
        "/workspaces/pia-team/members",
        &[
            ("username", "quinn"),
            ("role", "read"),
            ("password", common::pages::PASSWORD),
        ],
    )
    .assert_contains("Member saved.");
    let unknown = pia.submit(
        page,
        "/workspaces/pia-team/members",
        &[("username", "nobody"), ("role", "read")],
    );
    assert_eq!(unknown.status, 422);
    assert_eq!(
        common::texts(&unknown.body, "#username-error"),
        ["There is no user called \"nobody\"."]
    );
    pia.submit(
        page,
        "/workspaces/pia-team/repositories",
        &[("name", "docs"), ("private", "on")],
    )
    .assert_contains("Repository created.");
    let shown = pia.get(page);
    let members = common::texts(&shown.body, "#members tbody tr td:first-child");
    assert_eq!(members, ["pia", "quinn"]);
    assert_eq!(
        common::texts(&shown.body, "#repositories tbody tr td:first-child"),
        ["docs"]
    );
    assert!(
        server
            .data_dir()
            .join("repositories/pia-team/docs.git/HEAD")
            .exists(),
        "the bare repository is on disk"
    );
    // The workspace's admin opens its repository's page (no collaborators
    // there: the members have access), and an error page keeps her header.
    let repo = pia.get("/repositories/pia-team/docs");
    assert_eq!(repo.status, 200, "{}", repo.body);
    repo.assert_contains("id=\"workspace-access\"");
    assert!(!repo.body.contains("Add collaborator"), "{}", repo.body);
    let missing = pia.get("/repositories/pia-team/nothing");
    assert_eq!(missing.status, 404);
    missing.assert_contains("Sign out");
    assert!(
        !missing.body.contains("href=\"/signin\""),
        "{}",
        missing.body
    );
    // Two-step is off for pia: the policy form asks for her password.
    let on = pia.submit(
        page,
        "/workspaces/pia-team/two-step-policy",
        &[
            ("require", "on"),
            ("grace_days", "7"),
            ("password", common::pages::PASSWORD),
        ],
    );
    on.assert_contains("Two-step verification is required now");
    server.mail.wait_for(
        "quinn@example.com",
        "A workspace requires two-step verification",
    );
    let listed = pia.get("/workspaces");
    assert!(common::texts(&listed.body, "#workspaces tbody tr")[0].contains("grace period"));
    assert_eq!(
        common::texts(&listed.body, ".workspace-banner").len(),
        1,
        "pia's own two-step is off"
    );
}
