//! A workspace's SSH rules (which keys reach its repositories: any, FIDO
//! security keys, FIDO keys that verify their user; certificates only) and
//! its SSH certificate authorities: a user certificate one of them signed
//! reaches the workspace's repositories as the member its principal names,
//! within its validity window.

use twostep_core::ssh_certificate::{self as certs, Certificate, Validity};
use twostep_core::workspace::SshKeyRule;
use twostep_core::{sshkey, token, UnixTime};
use twostep_store::ssh_cas::{self, SshCa};
use twostep_store::users;
use twostep_store::workspaces::{self as ws, Role, Workspace};

use super::Workspaces;
use crate::error::utc;
use crate::gate::Action;
use crate::notify::Event;
use crate::{commit, rng, Account, AuthError, AuthService, Ctx, Proof, Result, SessionInfo};

const MAX_TITLE: usize = 100;
/// The most authorities a workspace keeps (removed ones included).
const MAX_CAS: usize = 20;

/// A certificate authority as a workspace's page lists it.
#[derive(Debug, Clone)]
pub struct CaView {
    pub id: String,
    pub title: String,
    pub fingerprint: String,
    pub public_key: String,
    pub added_at: UnixTime,
    pub removed_at: Option<UnixTime>,
}

impl From<SshCa> for CaView {
    fn from(c: SshCa) -> CaView {
        CaView {
            id: c.id,
            title: c.title,
            fingerprint: c.fingerprint,
            public_key: c.public_key,
            added_at: c.created_at,
            removed_at: c.removed_at,
        }
    }
}

/// A workspace's SSH rules as its page shows them.
#[derive(Debug, Clone)]
pub struct SshRules {
    pub keys: SshKeyRule,
    pub certificates_required: bool,
    pub authorities: Vec<CaView>,
}

impl AuthService {
    pub(crate) async fn ssh_rules_of(
        &self,
        c: &mut twostep_store::Conn,
        w: &Workspace,
    ) -> Result<SshRules> {
        Ok(SshRules {
            keys: SshKeyRule::stored(&w.ssh_key_rule),
            certificates_required: w.ssh_certificates_required,
            authorities: ssh_cas::of_workspace(c, &w.id)
                .await?
                .into_iter()
                .map(CaView::from)
                .collect(),
        })
    }

    /// Opens the transaction of an SSH-rules change by an admin of `workspace`.
    async fn ssh_admin_action(
        &self,
        session: &SessionInfo,
        workspace: &str,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<(twostep_store::Tx, Workspace)> {
        {
            let mut c = self.store().conn().await?;
            let w = self.workspace_named(&mut c, workspace).await?;
            self.workspace_admin(&mut c, &w, &session.user.id).await?;
        }
        let (mut tx, me) = self
            .begin_action(
                Action::ManageWorkspaceSsh,
                session,
                proof,
                Some(workspace),
                ctx,
            )
            .await?;
        let w = self.workspace_named(&mut tx, workspace).await?;
        self.workspace_admin(&mut tx, &w, &me.id).await?;
        Ok((tx, w))
    }

    /// Mails every admin of the workspace: its SSH access changed.
    async fn mail_admins(&self, w: &Workspace, subject: &str, body: &str, ctx: &Ctx) -> Result<()> {
        let mut c = self.store().conn().await?;
        let mut admins = Vec::new();
        for m in ws::members(&mut c, &w.id).await? {
            if m.role == Role::Admin {
                if let Some(u) = users::by_id(&mut c, &m.user_id).await? {
                    admins.push(u);
                }
            }
        }
        drop(c);
        for u in &admins {
            self.notify(u, subject, body, ctx).await;
        }
        Ok(())
    }
}

impl Workspaces<'_> {
    /// Which SSH keys reach the workspace's repositories, and whether only
    /// certificates do. A security setting: the admin's fresh proof.
    pub async fn set_workspace_ssh_rules(
        &self,
        session: &SessionInfo,
        workspace: &str,
        keys: SshKeyRule,
        certificates_required: bool,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<SshRules> {
        let (mut tx, w) = self
            .ssh_admin_action(session, workspace, proof, ctx)
            .await?;
        if certificates_required
            && !ssh_cas::of_workspace(&mut tx, &w.id)
                .await?
                .iter()
                .any(|c| c.removed_at.is_none())
        {
            return Err(AuthError::invalid(
                "no_certificate_authority",
                "certificates_required",
                "Add a certificate authority first: with none, nobody could reach the repositories over SSH.",
            ));
        }
        ws::set_ssh_rules(&mut tx, &w.id, keys.as_str(), certificates_required).await?;
        let detail = format!(
            "{}: SSH keys {}, certificates {}",
            w.name,
            keys.as_str(),
            if certificates_required {
                "required"
            } else {
                "accepted"
            }
        );
        let now = self.now();
        self.audit(
            &mut tx,
            &session.user.id,
            now,
            Event::WorkspaceSshRulesChanged,
            &detail,
            ctx,
        )
        .await?;
        let w = self.workspace_named(&mut tx, workspace).await?;
        let rules = self.ssh_rules_of(&mut tx, &w).await?;
        commit(tx).await?;
        let body = format!(
            "{} changed the SSH rules of the workspace {}: {}.",
            session.user.username, w.name, detail
        );
        self.mail_admins(&w, "A workspace's SSH rules changed", &body, ctx)
            .await?;
        Ok(rules)
    }

    /// Trusts a certificate authority (its public key line) for the
    /// workspace's repositories.
    pub async fn add_certificate_authority(
        &self,
        session: &SessionInfo,
        workspace: &str,
        title: &str,
        line: &str,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<CaView> {
        let key = sshkey::parse(line)
            .map_err(|e| AuthError::invalid("invalid_ca_key", "public_key", e.to_string()))?;
        let title = title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE {
            return Err(AuthError::invalid(
                "invalid_title",
                "title",
                format!("Name the authority (up to {MAX_TITLE} characters), e.g. \"Acme CI CA\"."),
            ));
        }
        let (mut tx, w) = self
            .ssh_admin_action(session, workspace, proof, ctx)
            .await?;
        let existing = ssh_cas::of_workspace(&mut tx, &w.id).await?;
        if existing
            .iter()
            .any(|c| c.fingerprint == key.fingerprint() && c.removed_at.is_none())
        {
            return Err(AuthError::invalid(
                "duplicate_ca",
                "public_key",
                format!(
                    "{} trusts this authority ({}) already.",
                    w.name,
                    key.fingerprint()
                ),
            ));
        }
        if existing.iter().filter(|c| c.removed_at.is_none()).count() >= MAX_CAS {
            return Err(AuthError::invalid(
                "too_many_cas",
                "public_key",
                format!("A workspace keeps at most {MAX_CAS} authorities."),
            ));
        }
        let now = self.now();
        let row = SshCa {
            id: token::new_id(&mut rng()),
            workspace_id: w.id.clone(),
            title: title.to_string(),
            public_key: key.openssh(),
            fingerprint: key.fingerprint(),
            created_by: session.user.id.clone(),
            created_at: now,
            removed_at: None,
        };
        ssh_cas::insert(&mut tx, &row).await?;
        let detail = format!("{}: {} {}", w.name, row.title, row.fingerprint);
        self.audit(
            &mut tx,
            &session.user.id,
            now,
            Event::WorkspaceCaAdded,
            &detail,
            ctx,
        )
        .await?;
        commit(tx).await?;
        let body = format!(
            "{} added the SSH certificate authority \"{}\" ({}) to the workspace {}. \
             Certificates it signs now reach {}'s repositories as the members they name. \
             If this was not expected, remove it on the workspace's page.",
            session.user.username, row.title, row.fingerprint, w.name, w.name
        );
        self.mail_admins(
            &w,
            "A certificate authority was added to a workspace",
            &body,
            ctx,
        )
        .await?;
        Ok(row.into())
    }

    /// Stops trusting an authority (kept, marked removed, so that its
    /// certificates are refused with the reason).
    pub async fn remove_certificate_authority(
        &self,
        session: &SessionInfo,
        workspace: &str,
        id: &str,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<()> {
        let (mut tx, w) = self
            .ssh_admin_action(session, workspace, proof, ctx)
            .await?;
        let now = self.now();
        let Some(ca) = ssh_cas::of_workspace(&mut tx, &w.id)
            .await?
            .into_iter()
            .find(|c| c.id == id && c.removed_at.is_none())
        else {
            return Err(AuthError::NotFound);
        };
        let still = ssh_cas::of_workspace(&mut tx, &w.id)
            .await?
            .iter()
            .filter(|c| c.removed_at.is_none())
            .count();
        if w.ssh_certificates_required && still <= 1 {
            return Err(AuthError::Conflict(
                "The workspace requires certificates and this is its last authority: stop requiring certificates first.".into(),
            ));
        }
        ssh_cas::remove(&mut tx, &w.id, id, now).await?;
        let detail = format!("{}: {} {}", w.name, ca.title, ca.fingerprint);
        self.audit(
            &mut tx,
            &session.user.id,
            now,
            Event::WorkspaceCaRemoved,
            &detail,
            ctx,
        )
        .await?;
        commit(tx).await?;
        let body = format!(
            "{} removed the SSH certificate authority \"{}\" ({}) from the workspace {}: its certificates no longer reach its repositories.",
            session.user.username, ca.title, ca.fingerprint, w.name
        );
        self.mail_admins(
            &w,
            "A certificate authority was removed from a workspace",
            &body,
            ctx,
        )
        .await?;
        Ok(())
    }
}

impl crate::SignIn<'_> {
    /// Whether any workspace has (or had) this authority: a certificate it
    /// signed is then let in, and each command says whether it may run.
    pub async fn knows_certificate_authority(&self, fingerprint: &str) -> Result<bool> {
        let mut c = self.store().conn().await?;
        Ok(!ssh_cas::by_fingerprint(&mut c, fingerprint)
            .await?
            .is_empty())
    }

    /// The member a certificate acts as in the workspace `owner`, or the
    /// sentence that says why it may not.
    pub async fn certificate_user(&self, cert: &Certificate, owner: &str) -> Result<Account> {
        let refuse = |m: String| Err(AuthError::Forbidden(m));
        let now = self.now();
        let mut c = self.store().conn().await?;
        let owner = owner.trim().to_ascii_lowercase();
        let Some(w) = ws::by_name(&mut c, &owner).await? else {
            return refuse(format!(
                "An SSH certificate reaches only the repositories of the workspaces that trust its authority; {owner} is not one of them."
            ));
        };
        let cas = ssh_cas::by_fingerprint(&mut c, &cert.ca_fingerprint).await?;
        // An authority added again after a removal: its live row counts.
        let Some(ca) = cas
            .iter()
            .filter(|ca| ca.workspace_id == w.id)
            .min_by_key(|ca| ca.removed_at.is_some())
        else {
            return refuse(format!(
                "The workspace {} does not trust the authority that signed this certificate ({}).",
                w.name, cert.ca_fingerprint
            ));
        };
        if let Some(at) = ca.removed_at {
            return refuse(format!(
                "The certificate authority \"{}\" that signed this certificate was removed from the workspace {} on {} UTC; its certificates no longer work there.",
                ca.title,
                w.name,
                utc(at)
            ));
        }
        if !cert.for_users {
            return refuse("This is a host certificate; sign in with a user certificate.".into());
        }
        if !cert.critical_options.is_empty() {
            return refuse(format!(
                "This certificate carries critical options twostep does not enforce ({}); ask for one without them.",
                cert.critical_options.join(", ")
            ));
        }
        match certs::validity(cert, now) {
            Validity::Valid => {}
            Validity::NotYet { from } => {
                return refuse(format!(
                    "This SSH certificate is valid only from {} UTC.",
                    utc(from)
                ))
            }
            Validity::Expired { at } => {
                return refuse(format!(
                    "This SSH certificate expired on {} UTC. Ask for a new one.",
                    utc(at)
                ))
            }
        }
        let mut named = Vec::new();
        for p in &cert.principals {
            let Some(u) = users::by_username(&mut c, &p.to_ascii_lowercase()).await? else {
                continue;
            };
            if ws::role_of(&mut c, &w.id, &u.id).await?.is_some() {
                return Ok(u.into());
            }
            named.push(u.username);
        }
        let principals = cert.principals.join(", ");
        if named.is_empty() {
            refuse(format!(
                "This certificate's principals ({principals}) name no account here; a principal must be a member's username."
            ))
        } else {
            refuse(format!(
                "This certificate is for {}, who is not a member of the workspace {}.",
                named.join(", "),
                w.name
            ))
        }
    }
}
