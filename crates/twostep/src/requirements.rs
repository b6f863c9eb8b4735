//! `twostep requirements`: the requirement table of the auth service, and
//! every route and SSH command with the action it reaches, as Markdown (the
//! README's security model shows the same text; a test keeps them equal).

use std::collections::BTreeMap;
use std::fmt::Write;

use twostep_auth::Action;

pub fn markdown() -> String {
    let mut out = String::from("#### What each action needs\n\n");
    out.push_str(&Action::markdown_table());
    out.push_str("\n#### Routes and SSH commands, by action\n\n| action | routes and commands |\n| --- | --- |\n");
    let mut by_action: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let position = |a: Action| {
        Action::ALL
            .iter()
            .position(|x| *x == a)
            .unwrap_or(usize::MAX)
    };
    for d in twostep_web::declared_routes() {
        by_action
            .entry(position(d.action))
            .or_default()
            .push(format!("`{} {}`", d.method, d.path));
    }
    for (name, action) in twostep_ssh::COMMANDS {
        by_action
            .entry(position(*action))
            .or_default()
            .push(format!("SSH `{name}`"));
    }
    for (i, routes) in by_action {
        let Some(action) = Action::ALL.get(i) else {
            continue;
        };
        let _ = writeln!(out, "| {} | {} |", action.describe(), routes.join(", "));
    }
    out
}
