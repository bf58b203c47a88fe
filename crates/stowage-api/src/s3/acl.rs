//! S3 ACLs on the wire: canned ACLs, `x-amz-grant-*` headers and `AccessControlPolicy` bodies in, grant
//! lists out. The owner's full control is implicit (never stored); grantees must be this server's account,
//! a known group, or nothing S3 could resolve is accepted.

use s3s::dto::{self, AccessControlPolicy, Owner, Permission, Type};
use s3s::{S3Result, s3_error};
use stowage_core::model::{AclPermission, Grant, Grantee};

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

fn grant(grantee: Grantee, permission: AclPermission) -> Grant {
    Grant { grantee, permission }
}

/// The grants a canned ACL stands for, besides the owner's full control.
pub fn canned(name: &str) -> S3Result<Vec<Grant>> {
    use AclPermission::*;
    Ok(match name {
        "private" | "bucket-owner-read" | "bucket-owner-full-control" | "aws-exec-read" => Vec::new(),
        "public-read" => vec![grant(Grantee::AllUsers, Read)],
        "public-read-write" => vec![grant(Grantee::AllUsers, Read), grant(Grantee::AllUsers, Write)],
        "authenticated-read" => vec![grant(Grantee::AuthenticatedUsers, Read)],
        "log-delivery-write" => vec![grant(Grantee::LogDelivery, Write), grant(Grantee::LogDelivery, ReadAcp)],
        other => return Err(s3_error!(InvalidArgument, "unknown canned ACL: {other}")),
    })
}

fn permission_in(permission: &str) -> S3Result<AclPermission> {
    Ok(match permission {
        Permission::FULL_CONTROL => AclPermission::FullControl,
        Permission::READ => AclPermission::Read,
        Permission::WRITE => AclPermission::Write,
        Permission::READ_ACP => AclPermission::ReadAcp,
        Permission::WRITE_ACP => AclPermission::WriteAcp,
        other => return Err(s3_error!(MalformedACLError, "unknown permission: {other}")),
    })
}

fn permission_out(permission: AclPermission) -> Permission {
    Permission::from_static(match permission {
        AclPermission::FullControl => Permission::FULL_CONTROL,
        AclPermission::Read => Permission::READ,
        AclPermission::Write => Permission::WRITE,
        AclPermission::ReadAcp => Permission::READ_ACP,
        AclPermission::WriteAcp => Permission::WRITE_ACP,
    })
}

/// A grantee as a request names it (`id`, `uri` or `emailAddress`), resolved as S3 resolves it: the only
/// canonical user here is the account itself, and no e-mail address resolves.
fn grantee_in(kind: &str, value: &str, account_id: &str) -> S3Result<Grantee> {
    match kind {
        "uri" => match value {
            ALL_USERS => Ok(Grantee::AllUsers),
            AUTHENTICATED_USERS => Ok(Grantee::AuthenticatedUsers),
            LOG_DELIVERY => Ok(Grantee::LogDelivery),
            other => Err(s3_error!(InvalidArgument, "Invalid group uri: {other}")),
        },
        "id" if value == account_id => Ok(Grantee::CanonicalUser(value.to_string())),
        "id" => Err(s3_error!(InvalidArgument, "Invalid id: {value}")),
        "emailAddress" => {
            Err(s3_error!(UnresolvableGrantByEmailAddress, "The e-mail address you provided does not match any account on record"))
        }
        other => Err(s3_error!(InvalidArgument, "unknown grantee type: {other}")),
    }
}

/// `x-amz-grant-read: id="…", uri="…"`: one grant per grantee listed.
fn header_grants(permission: AclPermission, header: &str, account_id: &str, out: &mut Vec<Grant>) -> S3Result<()> {
    for item in header.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (kind, value) = item.split_once('=').ok_or_else(|| s3_error!(InvalidArgument, "a grantee is written type=\"value\""))?;
        out.push(grant(grantee_in(kind.trim(), value.trim().trim_matches('"'), account_id)?, permission));
    }
    Ok(())
}

/// The grants a request asks for through its canned ACL or grant headers, or `None` if it names none.
/// (Both at once is refused, as S3 refuses it.)
pub struct RequestedAcl<'a> {
    pub canned: Option<&'a str>,
    pub full_control: Option<&'a str>,
    pub read: Option<&'a str>,
    pub read_acp: Option<&'a str>,
    pub write: Option<&'a str>,
    pub write_acp: Option<&'a str>,
}

/// The ACL fields every s3s input that takes one names the same way (objects have no WRITE grant).
macro_rules! requested_acl {
    (object $input:expr) => {
        $crate::s3::acl::RequestedAcl {
            canned: $input.acl.as_ref().map(|a| a.as_str()),
            full_control: $input.grant_full_control.as_deref(),
            read: $input.grant_read.as_deref(),
            read_acp: $input.grant_read_acp.as_deref(),
            write: None,
            write_acp: $input.grant_write_acp.as_deref(),
        }
    };
    (bucket $input:expr) => {
        $crate::s3::acl::RequestedAcl { write: $input.grant_write.as_deref(), ..$crate::s3::acl::requested_acl!(object $input) }
    };
}
pub(super) use requested_acl;

impl RequestedAcl<'_> {
    pub fn grants(&self, account_id: &str) -> S3Result<Option<Vec<Grant>>> {
        let headers = [
            (AclPermission::FullControl, self.full_control),
            (AclPermission::Read, self.read),
            (AclPermission::ReadAcp, self.read_acp),
            (AclPermission::Write, self.write),
            (AclPermission::WriteAcp, self.write_acp),
        ];
        let any_header = headers.iter().any(|(_, h)| h.is_some());
        match (self.canned, any_header) {
            (Some(_), true) => Err(s3_error!(InvalidRequest, "Specifying both Canned ACLs and Header Grants is not allowed")),
            (Some(name), false) => canned(name).map(Some),
            (None, true) => {
                let mut out = Vec::new();
                for (permission, header) in headers {
                    if let Some(header) = header {
                        header_grants(permission, header, account_id, &mut out)?;
                    }
                }
                Ok(Some(without_owner_full_control(out, account_id)))
            }
            (None, false) => Ok(None),
        }
    }
}

/// The owner's full control is implicit: listing it stores nothing.
fn without_owner_full_control(grants: Vec<Grant>, account_id: &str) -> Vec<Grant> {
    grants
        .into_iter()
        .filter(|g| !(g.permission == AclPermission::FullControl && g.grantee == Grantee::CanonicalUser(account_id.to_string())))
        .collect()
}

/// The grants of an `AccessControlPolicy` body.
pub fn policy_grants(policy: AccessControlPolicy, account_id: &str) -> S3Result<Vec<Grant>> {
    let mut out = Vec::new();
    for g in policy.grants.unwrap_or_default() {
        let grantee = g.grantee.ok_or_else(|| s3_error!(MalformedACLError, "a grant needs a Grantee"))?;
        let permission = permission_in(g.permission.as_ref().map(Permission::as_str).unwrap_or(""))?;
        let (kind, value) = match grantee.type_.as_str() {
            Type::GROUP => ("uri", grantee.uri),
            Type::CANONICAL_USER => ("id", grantee.id),
            Type::AMAZON_CUSTOMER_BY_EMAIL => ("emailAddress", grantee.email_address),
            other => return Err(s3_error!(MalformedACLError, "unknown grantee type: {other}")),
        };
        let value = value.ok_or_else(|| s3_error!(MalformedACLError, "the grantee names no {kind}"))?;
        out.push(grant(grantee_in(kind, &value, account_id)?, permission));
    }
    Ok(without_owner_full_control(out, account_id))
}

pub fn owner(account_id: &str) -> Owner {
    Owner { id: Some(account_id.to_string()), display_name: Some(account_id.to_string()) }
}

/// The grants S3 shows: the owner's full control first, then the rest.
pub fn grants_out(account_id: &str, grants: &[Grant]) -> Vec<dto::Grant> {
    let user = |id: &str| dto::Grantee {
        id: Some(id.to_string()),
        display_name: Some(id.to_string()),
        type_: Type::from_static(Type::CANONICAL_USER),
        email_address: None,
        uri: None,
    };
    let group = |uri: &str| dto::Grantee {
        type_: Type::from_static(Type::GROUP),
        uri: Some(uri.to_string()),
        id: None,
        display_name: None,
        email_address: None,
    };
    let owner = dto::Grant { grantee: Some(user(account_id)), permission: Some(permission_out(AclPermission::FullControl)) };
    std::iter::once(owner)
        .chain(grants.iter().map(|g| dto::Grant {
            grantee: Some(match &g.grantee {
                Grantee::AllUsers => group(ALL_USERS),
                Grantee::AuthenticatedUsers => group(AUTHENTICATED_USERS),
                Grantee::LogDelivery => group(LOG_DELIVERY),
                Grantee::CanonicalUser(id) => user(id),
                Grantee::Email(address) => dto::Grantee {
                    type_: Type::from_static(Type::AMAZON_CUSTOMER_BY_EMAIL),
                    email_address: Some(address.clone()),
                    id: None,
                    display_name: None,
                    uri: None,
                },
            }),
            permission: Some(permission_out(g.permission)),
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_headers_and_canned_acls() {
        let groups = format!("uri=\"{ALL_USERS}\", uri=\"{AUTHENTICATED_USERS}\"");
        let acl = RequestedAcl {
            canned: None,
            full_control: Some("id=\"acct\""),
            read: Some(&groups),
            read_acp: None,
            write: None,
            write_acp: None,
        };
        let grants = acl.grants("acct").expect("valid grants").expect("grants named");
        assert_eq!(grants, [grant(Grantee::AllUsers, AclPermission::Read), grant(Grantee::AuthenticatedUsers, AclPermission::Read)]);
        let unknown_user = RequestedAcl { read: Some("id=\"someone-else\""), ..acl };
        assert!(unknown_user.grants("acct").is_err());
        let both = RequestedAcl { canned: Some("private"), read: Some("id=\"acct\""), ..unknown_user };
        assert!(both.grants("acct").is_err());
        assert_eq!(canned("public-read-write").expect("a canned ACL").len(), 2);
        assert!(canned("public-ready").is_err());
    }
}
