//! Security keys (FIDO U2F and FIDO2 through WebAuthn): the first second
//! factor (two-step turns on from a mailed link) or one more; accepted for the second step and wherever a fresh second
//! factor is asked for. Ceremony state lives in the store, so any node can
//! finish what another began.

use serde_json::Value;
use twostep_core::token;
use twostep_core::{UnixTime, UserId};
use twostep_store::security_keys::{self as keys, NewState};
use twostep_store::users;
use webauthn_rs::prelude::{
    PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey, SecurityKeyAuthentication,
    SecurityKeyRegistration, Url, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use super::Factors;
use crate::factors::check::Refusal;
use crate::gate::{proof_opens_sudo, Action, ProofKind, WayIn, WeakProof};
use crate::notify::Event;
use crate::signin::sudo::Proof;
use crate::Failure;
use crate::{commit, rng, AuthError, AuthService, Ctx, Result, SessionInfo, Settings};
use twostep_store::users::User;

pub(crate) const CEREMONY_TTL: i64 = 5 * 60;
const MAX_NAME: usize = 60;
use twostep_store::security_keys::Ceremony;

#[derive(Debug, Clone)]
pub struct SecurityKeyView {
    pub id: String,
    pub name: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    pub passkey: bool,
    /// The authenticator's model (AAGUID); '' when unknown.
    pub aaguid: String,
}

impl From<&keys::SecurityKey> for SecurityKeyView {
    fn from(k: &keys::SecurityKey) -> Self {
        SecurityKeyView {
            id: k.id.clone(),
            name: k.name.clone(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            passkey: k.kind == keys::KeyKind::Passkey,
            aaguid: k.aaguid.clone(),
        }
    }
}

/// A key just registered; with two-step off, the address the link that
/// turns it on was mailed to.
#[derive(Debug, Clone)]
pub struct Registered {
    pub key: SecurityKeyView,
    pub confirmation_sent_to: Option<String>,
}

/// What a registration makes: a security key (a second factor), or a
/// passkey (discoverable, user-verified: signs in alone, and also serves
/// as a second factor wherever a security key does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SecurityKey,
    Passkey,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::SecurityKey => "security key",
            Kind::Passkey => "passkey",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::SecurityKey => "security keys",
            Kind::Passkey => "passkeys",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Kind::SecurityKey => "blue YubiKey",
            Kind::Passkey => "laptop passkey",
        }
    }

    /// Adding one is this action of the requirement table.
    pub(crate) fn action(self) -> Action {
        match self {
            Kind::SecurityKey => Action::AddSecurityKey,
            Kind::Passkey => Action::AddPasskey,
        }
    }

    fn ceremony(self) -> Ceremony {
        match self {
            Kind::SecurityKey => Ceremony::Register,
            Kind::Passkey => Ceremony::RegisterPasskey,
        }
    }

    fn stored(self) -> keys::KeyKind {
        match self {
            Kind::SecurityKey => keys::KeyKind::SecurityKey,
            Kind::Passkey => keys::KeyKind::Passkey,
        }
    }

    fn added_event(self) -> Event {
        match self {
            Kind::SecurityKey => Event::SecurityKeyAdded,
            Kind::Passkey => Event::PasskeyAdded,
        }
    }
}

/// The relying party is the public URL's host; browsers refuse IP addresses.
pub(crate) fn relying_party(settings: &Settings) -> Option<Webauthn> {
    let origin = Url::parse(&settings.public_url).ok()?;
    let host = origin.host_str()?.to_string();
    if host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    WebauthnBuilder::new(&host, &origin)
        .ok()?
        .rp_name(&settings.issuer)
        // Needed by Chromium for security keys, and by FIDO U2F keys.
        .danger_set_user_presence_only_security_keys(true)
        .build()
        .ok()
}

/// The authenticator's model (AAGUID) from a registration's attestation
/// object: bytes 37..53 of its authenticator data when credential data is
/// attested. '' when absent or all zeros (browsers zero it unless asked for
/// a direct attestation).
pub(crate) fn aaguid_of(attestation_object: &[u8]) -> String {
    use serde_cbor_2::Value;
    let Ok(Value::Map(m)) = serde_cbor_2::from_slice::<Value>(attestation_object) else {
        return String::new();
    };
    let Some(Value::Bytes(auth_data)) = m.get(&Value::Text("authData".into())) else {
        return String::new();
    };
    const ATTESTED: u8 = 0x40;
    match auth_data.get(37..53) {
        Some(id) if auth_data[32] & ATTESTED != 0 && id.iter().any(|b| *b != 0) => {
            let h = data_encoding::HEXLOWER.encode(id);
            format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        }
        _ => String::new(),
    }
}

pub(crate) fn bad_credential(e: impl std::fmt::Display) -> AuthError {
    AuthError::invalid(
        "invalid_credential",
        "key",
        format!("The security key's answer could not be read: {e}"),
    )
}

pub(crate) fn user_uuid(id: &UserId) -> Uuid {
    let mut b = [0u8; 16];
    let id = data_encoding::HEXLOWER_PERMISSIVE
        .decode(id.as_str().as_bytes())
        .unwrap_or_default();
    for (i, x) in id.iter().take(16).enumerate() {
        b[i] = *x;
    }
    Uuid::from_bytes(b)
}

impl AuthService {
    pub(crate) fn webauthn(&self) -> Result<&Webauthn> {
        self.inner.webauthn.as_ref().ok_or_else(|| {
            AuthError::Forbidden(
                "Security keys need this server to be reached by a host name, not an IP address: start it with --public-url http://HOSTNAME:PORT.".into(),
            )
        })
    }

    async fn save_ceremony(
        &self,
        user_id: &UserId,
        session_hash: &str,
        kind: Ceremony,
        name: &str,
        state: String,
    ) -> Result<String> {
        let id = token::new_id(&mut rng());
        let mut c = self.store().conn().await?;
        keys::save_state(
            &mut c,
            NewState {
                id: &id,
                user_id,
                session_hash,
                kind,
                name,
                state: &state,
                expires_at: self.now() + CEREMONY_TTL,
            },
        )
        .await?;
        Ok(id)
    }

    /// Checks an assertion inside `tx`, holding the account's row; a refusal
    /// has its failure recorded. Passing gives the key's id, name and when it was added.
    async fn check_assertion(
        &self,
        tx: &mut twostep_store::Conn,
        session_hash: &str,
        user: &User,
        (ceremony, credential): (&str, Value),
        now: UnixTime,
        ctx: &Ctx,
    ) -> Result<std::result::Result<(String, String, UnixTime), Refusal>> {
        let wa = self.webauthn()?;
        let user = match self.second_step_gate(tx, &user.id, now).await? {
            Ok(u) => u,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let user = &user;
        let (owner, _, state) =
            keys::take_state(tx, ceremony, session_hash, Ceremony::Authenticate, now)
                .await?
                .ok_or_else(|| {
                    AuthError::Conflict("That request expired. Try the security key again.".into())
                })?;
        if owner != user.id {
            return Err(AuthError::SignInRequired);
        }
        let state: SecurityKeyAuthentication =
            serde_json::from_str(&state).map_err(Failure::from)?;
        let verdict = serde_json::from_value::<PublicKeyCredential>(credential)
            .map_err(|e| e.to_string())
            .and_then(|cred| {
                wa.finish_securitykey_authentication(&cred, &state)
                    .map_err(|e| e.to_string())
            });
        let result = match verdict {
            Ok(r) => r,
            Err(why) => {
                tracing::info!(user = %user.username, %why, "security key refused");
                let refusal = self
                    .count_failure(tx, user, now, ctx, "That security key is not registered to this account, or its answer was not valid.")
                    .await?;
                return Ok(Err(refusal));
            }
        };
        for row in keys::for_user(tx, &user.id).await? {
            let Ok(mut key) = serde_json::from_str::<SecurityKey>(&row.credential) else {
                continue;
            };
            if key.update_credential(&result).is_some() {
                let updated = serde_json::to_string(&key).map_err(Failure::from)?;
                keys::used(tx, &row.id, &updated, now).await?;
                self.factor_passed(tx, user, now, ctx).await?;
                return Ok(Ok((row.id, row.name, row.created_at)));
            }
        }
        Ok(Err(self
            .count_failure(
                tx,
                user,
                now,
                ctx,
                "That security key is not registered to this account.",
            )
            .await?))
    }

    async fn key_step(
        &self,
        token_in: &str,
        ceremony: &str,
        credential: Value,
        ctx: &Ctx,
    ) -> Result<(String, User)> {
        let now = self.now();
        let hash = token::token_hash(token_in);
        let mut tx = self.store().begin().await?;
        let user = self.half_signed_in(&mut tx, &hash, now).await?;
        match self
            .check_assertion(&mut tx, &hash, &user, (ceremony, credential), now, ctx)
            .await?
        {
            Ok((id, name, _)) => {
                let t = self
                    .complete_second_step(
                        &mut tx,
                        &hash,
                        &user,
                        &format!("security key \"{name}\""),
                        now,
                        ctx,
                    )
                    .await?;
                twostep_store::sessions::set_signed_in_key(&mut tx, &token::token_hash(&t), &id)
                    .await?;
                commit(tx).await?;
                Ok((t, user))
            }
            Err(refusal) => self.refuse(tx, &user, refusal, ctx).await,
        }
    }

    async fn refused(
        &self,
        tx: twostep_store::Tx,
        user: &User,
        r: Refusal,
        ctx: &Ctx,
    ) -> AuthError {
        match self
            .refuse::<std::convert::Infallible>(tx, user, r, ctx)
            .await
        {
            Err(e) => e,
            Ok(never) => match never {},
        }
    }
}

impl Factors<'_> {
    pub async fn begin_registration(
        &self,
        session: &SessionInfo,
        name: &str,
        kind: Kind,
    ) -> Result<(String, Value)> {
        let wa = self.webauthn()?;
        // A new credential: sudo open already (the ceremony carries no code).
        let user = self
            .allowed(kind.action(), session, &Proof::None, None)
            .await?;
        // While two-step is off, the key is the first second factor: the
        // checklist comes first, as for an authenticator app.
        if user.two_step_enabled_at.is_none()
            && !self.two_step_status(&user.id).await?.checklist.ready()
        {
            return Err(AuthError::Forbidden(format!(
                "Finish the checklist first: a confirmed email address, a password (or a linked sign-in provider) and at least one SSH key. Then add {}.",
                kind.plural()
            )));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(AuthError::invalid(
                "invalid_name",
                "name",
                format!(
                    "Name the {} (up to 60 characters), e.g. \"{}\".",
                    kind.noun(),
                    kind.example()
                ),
            ));
        }
        let mut c = self.store().conn().await?;
        let existing: Vec<SecurityKey> = keys::for_user(&mut c, &user.id)
            .await?
            .iter()
            .filter_map(|k| serde_json::from_str(&k.credential).ok())
            .collect();
        drop(c);
        let exclude = existing.iter().map(|k| k.cred_id().clone()).collect();
        let webauthn =
            |e: webauthn_rs::prelude::WebauthnError| AuthError::from(Failure::WebAuthn(e));
        let (options, state) = match kind {
            Kind::SecurityKey => {
                let (o, s) = wa
                    .start_securitykey_registration(
                        user_uuid(&user.id),
                        &user.username,
                        &user.username,
                        Some(exclude),
                        None,
                        None,
                    )
                    .map_err(webauthn)?;
                (serde_json::to_value(o), serde_json::to_string(&s))
            }
            Kind::Passkey => {
                let (o, s) = wa
                    .start_passkey_registration(
                        user_uuid(&user.id),
                        &user.username,
                        &user.username,
                        Some(exclude),
                    )
                    .map_err(webauthn)?;
                // webauthn-rs asks for no resident key; a passkey must be one
                // (the sign-in names no account), so the browser is told to
                // make a discoverable credential or none.
                let o = serde_json::to_value(o).map(|mut o| {
                    let sel = &mut o["publicKey"]["authenticatorSelection"];
                    sel["residentKey"] = "required".into();
                    sel["requireResidentKey"] = true.into();
                    o
                });
                (o, serde_json::to_string(&s))
            }
        };
        // A workspace of this account that allows only some models needs
        // to read the model, and so may an admin of one (who must meet a
        // list before setting it): the browser is asked for a direct
        // attestation.
        let listed = self
            .workspaces()
            .workspaces_of(&user.id)
            .await?
            .iter()
            .any(|m| !m.models.is_empty() || m.role == crate::WorkspaceRole::Admin);
        let options = options.map(|mut o| {
            if listed {
                o["publicKey"]["attestation"] = "direct".into();
            }
            o
        });
        let state = state.map_err(Failure::from)?;
        let id = self
            .save_ceremony(
                &user.id,
                session_hash(session)?,
                kind.ceremony(),
                name,
                state,
            )
            .await?;
        let options = options.map_err(Failure::from)?;
        Ok((id, options))
    }

    pub async fn finish_registration(
        &self,
        session: &SessionInfo,
        ceremony: &str,
        credential: Value,
        kind: Kind,
        ctx: &Ctx,
    ) -> Result<Registered> {
        let wa = self.webauthn()?;
        let now = self.now();
        let reg: RegisterPublicKeyCredential =
            serde_json::from_value(credential).map_err(bad_credential)?;
        let (mut tx, user) = self
            .begin_action(kind.action(), session, &Proof::None, None, ctx)
            .await?;
        let (user_id, name, state) = keys::take_state(
            &mut tx,
            ceremony,
            session_hash(session)?,
            kind.ceremony(),
            now,
        )
        .await?
        .ok_or_else(|| {
            AuthError::Conflict(format!(
                "That request expired. Try adding the {} again.",
                kind.noun()
            ))
        })?;
        let internal = |e: serde_json::Error| AuthError::from(Failure::Json(e));
        let refused = |e: webauthn_rs::prelude::WebauthnError| {
            AuthError::invalid(
                "key_refused",
                "key",
                format!("The {} could not be added: {e}", kind.noun()),
            )
        };
        let (cred_id, credential) = match kind {
            Kind::SecurityKey => {
                let state: SecurityKeyRegistration =
                    serde_json::from_str(&state).map_err(internal)?;
                let key = wa
                    .finish_securitykey_registration(&reg, &state)
                    .map_err(refused)?;
                (
                    key.cred_id().clone(),
                    serde_json::to_string(&key).map_err(internal)?,
                )
            }
            Kind::Passkey => {
                let state: webauthn_rs::prelude::PasskeyRegistration =
                    serde_json::from_str(&state).map_err(internal)?;
                let key = wa
                    .finish_passkey_registration(&reg, &state)
                    .map_err(refused)?;
                (
                    key.cred_id().clone(),
                    serde_json::to_string(&key).map_err(internal)?,
                )
            }
        };
        let row = keys::SecurityKey {
            id: token::new_id(&mut rng()),
            user_id: user_id.clone(),
            name: name.clone(),
            cred_id: data_encoding::BASE64URL_NOPAD.encode(cred_id.as_ref()),
            credential,
            created_at: now,
            last_used_at: None,
            kind: kind.stored(),
            aaguid: aaguid_of(&reg.response.attestation_object),
        };
        match keys::insert(&mut tx, &row).await {
            Err(twostep_store::StoreError::Conflict) => {
                return Err(AuthError::invalid(
                    "duplicate_key",
                    "key",
                    format!("That {} is registered already.", kind.noun()),
                ))
            }
            other => other?,
        }
        self.audit(&mut tx, &user_id, now, kind.added_event(), &name, ctx)
            .await?;
        let view = SecurityKeyView::from(&row);
        if user.two_step_enabled_at.is_none() {
            // The first second factor: two-step turns on from the mailed link.
            let user = self.user_row(&user_id).await?;
            let ready = format!("Your {} \"{name}\" is registered.", kind.noun());
            self.mail_enable_confirmation(tx, &user, &row.id, &ready, ctx)
                .await?;
            return Ok(Registered {
                key: view,
                confirmation_sent_to: Some(user.email),
            });
        }
        commit(tx).await?;
        self.notify(
            &session.user,
            &format!("A {} was added", kind.noun()),
            &format!("The {} \"{name}\" was added to your account.", kind.noun()),
            ctx,
        )
        .await;
        Ok(Registered {
            key: view,
            confirmation_sent_to: None,
        })
    }

    pub async fn security_keys(&self, user_id: &UserId) -> Result<Vec<SecurityKeyView>> {
        let mut c = self.store().conn().await?;
        Ok(keys::for_user(&mut c, user_id)
            .await?
            .iter()
            .map(SecurityKeyView::from)
            .collect())
    }

    /// Options for `navigator.credentials.get()`: for the second step of a
    /// sign-in, or to confirm a security change with a key.
    pub async fn begin_key_authentication(&self, session: &SessionInfo) -> Result<(String, Value)> {
        let wa = self.webauthn()?;
        let mut c = self.store().conn().await?;
        let creds: Vec<SecurityKey> = keys::for_user(&mut c, &session.user.id)
            .await?
            .iter()
            .filter_map(|k| serde_json::from_str(&k.credential).ok())
            .collect();
        drop(c);
        if creds.is_empty() {
            return Err(AuthError::Conflict(
                "This account has no security key.".into(),
            ));
        }
        let (options, state) = wa
            .start_securitykey_authentication(&creds)
            .map_err(Failure::WebAuthn)?;
        let state = serde_json::to_string(&state).map_err(Failure::from)?;
        let id = self
            .save_ceremony(
                &session.user.id,
                session_hash(session)?,
                Ceremony::Authenticate,
                "",
                state,
            )
            .await?;
        Ok((id, serde_json::to_value(options).map_err(Failure::from)?))
    }

    /// Completes a sign-in's second step with a security key.
    pub async fn finish_key_signin(
        &self,
        token_in: &str,
        ceremony: &str,
        credential: Value,
        ctx: &Ctx,
    ) -> Result<(String, crate::Account)> {
        let r = self.key_step(token_in, ceremony, credential, ctx).await;
        crate::metrics::second_step(ctx.channel, &r);
        r.map(|(token, user)| (token, user.into()))
    }

    /// A security key stands in for a code: security changes are allowed for a few minutes.
    pub async fn finish_key_confirmation(
        &self,
        session: &SessionInfo,
        ceremony: &str,
        credential: Value,
        ctx: &Ctx,
    ) -> Result<()> {
        self.admit(Action::ConfirmIdentity, Some(session), None, true)
            .await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let user = users::by_id(&mut tx, &session.user.id)
            .await?
            .ok_or(AuthError::SignInRequired)?;
        match self
            .check_assertion(
                &mut tx,
                session_hash(session)?,
                &user,
                (ceremony, credential),
                now,
                ctx,
            )
            .await?
        {
            Ok((id, name, added_at)) => {
                // A key added in this session proves only that the session
                // holder has a key: it must not open sudo.
                let way = WayIn {
                    two_step_on: user.two_step_enabled_at.is_some(),
                    has_password: user.password_hash.is_some(),
                };
                // A session signed in with this very key began after it was added.
                let proof = ProofKind::SecurityKey {
                    added_before_session: added_at < session.created_at
                        || session.signed_in_key.as_deref() == Some(id.as_str()),
                };
                match proof_opens_sudo(way, proof) {
                    Ok(()) => {}
                    Err(WeakProof::KeyTooNew) => {
                        commit(tx).await?;
                        return Err(AuthError::Forbidden(format!(
                            "The key \"{name}\" was added during this sign-in, so it cannot confirm security changes yet. Use a code or a recovery code, or sign out and in again."
                        )));
                    }
                    Err(w) => {
                        commit(tx).await?;
                        return Err(crate::signin::sudo::weak_proof(w));
                    }
                }
                self.audit(
                    &mut tx,
                    &user.id,
                    now,
                    Event::SecurityKeyConfirmed,
                    &name,
                    ctx,
                )
                .await?;
                self.open_sudo(&mut tx, session, &user, "security key", now, ctx)
                    .await?;
                // The session now holds a key's proof, as a workspace that
                // asks for sign-in with a key wants.
                if let Some(hash) = session.token_hash() {
                    twostep_store::sessions::set_signed_in_key(&mut tx, hash, &id).await?;
                }
                commit(tx).await
            }
            Err(refusal) => self.refuse(tx, &user, refusal, ctx).await,
        }
    }

    /// The browser found no registered key (or the person cancelled): counted
    /// like a wrong code, so guessing through the browser is limited too.
    pub async fn key_not_answered(&self, session: &SessionInfo, ctx: &Ctx) -> Result<AuthError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let user = match self
            .second_step_gate(&mut tx, &session.user.id, now)
            .await?
        {
            Ok(user) => user,
            Err(refusal) => {
                let user = users::by_id(&mut tx, &session.user.id)
                    .await?
                    .ok_or(AuthError::NotFound)?;
                return Ok(self.refused(tx, &user, refusal, ctx).await);
            }
        };
        let refusal = self
            .count_failure(
                &mut tx,
                &user,
                now,
                ctx,
                "No registered security key answered. Use a key added to this account, or a code.",
            )
            .await?;
        Ok(self.refused(tx, &user, refusal, ctx).await)
    }

    /// Removes a key after a fresh second factor (a code, or a key just used);
    /// says which kind it was, so the page names it.
    pub async fn remove_security_key(
        &self,
        session: &SessionInfo,
        key_id: &str,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<Kind> {
        let (mut tx, user) = self
            .begin_action(Action::RemoveSecurityKey, session, proof, None, ctx)
            .await?;
        let now = self.now();
        let factors = crate::factors::devices::second_factors(&mut tx, &user.id).await?;
        if user.two_step_enabled_at.is_some() && factors <= 1 {
            return Err(AuthError::Conflict(
                crate::factors::devices::LAST_FACTOR.into(),
            ));
        }
        let gone = keys::delete(&mut tx, &user.id, key_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::SecurityKeyRemoved,
            &gone.name,
            ctx,
        )
        .await?;
        commit(tx).await?;
        let kind = match gone.kind {
            keys::KeyKind::Passkey => Kind::Passkey,
            keys::KeyKind::SecurityKey => Kind::SecurityKey,
        };
        let noun = kind.noun();
        self.notify(
            &user,
            &format!("A {noun} was removed"),
            &format!(
                "The {noun} \"{}\" was removed from your account.",
                gone.name
            ),
            ctx,
        )
        .await;
        Ok(kind)
    }
}

/// Ceremonies belong to a signed-in session (never to HTTP Basic).
fn session_hash(session: &SessionInfo) -> Result<&str> {
    session.token_hash().ok_or(AuthError::SignInRequired)
}
