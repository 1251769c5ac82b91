//! S3 settings in the order users expect: flags, then `AWS_*` environment
//! variables, then the `~/.aws/config` and `~/.aws/credentials` profiles
//! (`region`, `endpoint_url`, keys and session tokens).
//!
//! Secrets are held only in [`Credentials`], whose `Debug` hides them, and
//! [`S3Settings::describe`] says where each setting came from, never what a
//! secret is.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use super::SourceError;
use crate::config::StorageOptions;

/// The process environment as the resolver sees it (a map, so tests can
/// give their own).
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: HashMap<String, String>,
}

impl Environment {
    /// The real environment of this process.
    pub fn from_process() -> Self {
        Environment {
            vars: std::env::vars().collect(),
        }
    }

    /// An environment with exactly these variables.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Environment {
            vars: pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// An access key pair and optional session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `aws_access_key_id`.
    pub access_key_id: String,
    /// `aws_secret_access_key`.
    pub secret_access_key: String,
    /// `aws_session_token`.
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<hidden>")
            .field("session_token", &self.session_token.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// Resolved settings for one S3 location.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// The endpoint URL, when not AWS itself.
    pub endpoint: Option<String>,
    /// The signing region.
    pub region: String,
    /// Keys, or `None` for unsigned (anonymous) requests.
    pub credentials: Option<Credentials>,
    /// Whether plain HTTP is allowed.
    pub allow_http: bool,
    /// Where each setting came from, for `--verbose`.
    origins: Vec<String>,
}

impl S3Settings {
    /// One line saying which endpoint, region and credential source are used.
    pub fn describe(&self) -> String {
        format!(
            "endpoint {}, region {}, {}",
            self.endpoint.as_deref().unwrap_or("AWS default"),
            self.region,
            self.origins.join(", ")
        )
    }
}

/// One profile's keys from the `~/.aws` files.
#[derive(Debug, Default)]
struct Profile {
    values: HashMap<String, String>,
}

impl Profile {
    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// Parses an AWS-style INI file and returns the section `wanted` (a section
/// header after `profile ` is stripped, so `[profile x]` and `[x]` both name
/// `x`). Indented `key = value` lines under a `service =` line are stored as
/// `service.key` (the `s3 =\n  endpoint_url = ...` form).
fn read_profile(text: &str, wanted: &str) -> Option<Profile> {
    let mut found: Option<Profile> = None;
    let mut in_wanted = false;
    let mut nested: Option<String> = None;
    for raw in text.lines() {
        let indented = raw.starts_with([' ', '\t']);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = section.trim();
            let name = name.strip_prefix("profile ").map(str::trim).unwrap_or(name);
            in_wanted = name == wanted;
            nested = None;
            if in_wanted && found.is_none() {
                found = Some(Profile::default());
            }
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
        if !in_wanted {
            continue;
        }
        let Some(p) = found.as_mut() else { continue };
        if indented && let Some(svc) = &nested {
            p.values.insert(format!("{svc}.{k}"), v);
            continue;
        }
        if v.is_empty() {
            nested = Some(k);
            continue;
        }
        nested = None;
        p.values.insert(k, v);
    }
    found
}

fn home(env: &Environment) -> Option<PathBuf> {
    env.get("HOME").map(PathBuf::from)
}

/// Resolves endpoint, region and credentials for an S3 location.
/// `url_endpoint` is the endpoint an `https://` location names; it wins over
/// every other source because the user wrote it in the location itself.
pub fn resolve(
    opts: &StorageOptions,
    env: &Environment,
    url_endpoint: Option<&str>,
) -> Result<S3Settings, SourceError> {
    let explicit_profile = opts
        .profile
        .clone()
        .or_else(|| env.get("AWS_PROFILE").map(str::to_string));
    let profile_name = explicit_profile.clone().unwrap_or_else(|| "default".into());

    let config_path = env
        .get("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home(env).map(|h| h.join(".aws").join("config")));
    let creds_path = env
        .get("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home(env).map(|h| h.join(".aws").join("credentials")));
    let read = |p: &Option<PathBuf>| p.as_ref().and_then(|p| std::fs::read_to_string(p).ok());
    let config = read(&config_path).and_then(|t| read_profile(&t, &profile_name));
    let creds_file = read(&creds_path).and_then(|t| read_profile(&t, &profile_name));
    if let Some(name) = &explicit_profile
        && config.is_none()
        && creds_file.is_none()
    {
        return Err(SourceError::Credentials(format!(
            "profile {name:?} not found in {} or {}",
            config_path.map_or("~/.aws/config".into(), |p| p.display().to_string()),
            creds_path.map_or("~/.aws/credentials".into(), |p| p.display().to_string()),
        )));
    }
    let from_profile = |key: &str| {
        creds_file
            .as_ref()
            .and_then(|p| p.get(key))
            .or_else(|| config.as_ref().and_then(|p| p.get(key)))
            .map(str::to_string)
    };
    let mut origins = Vec::new();

    let endpoint = url_endpoint
        .map(|e| (e.to_string(), "the location URL".to_string()))
        .or_else(|| opts.endpoint.clone().map(|e| (e, "--endpoint".into())))
        .or_else(|| {
            env.get("AWS_ENDPOINT_URL_S3")
                .map(|e| (e.into(), "AWS_ENDPOINT_URL_S3".into()))
        })
        .or_else(|| {
            env.get("AWS_ENDPOINT_URL")
                .map(|e| (e.into(), "AWS_ENDPOINT_URL".into()))
        })
        .or_else(|| {
            from_profile("s3.endpoint_url")
                .or_else(|| from_profile("endpoint_url"))
                .map(|e| (e, format!("profile {profile_name}")))
        });
    if let Some((_, origin)) = &endpoint {
        origins.push(format!("endpoint from {origin}"));
    }
    let endpoint = endpoint.map(|(e, _)| e.trim_end_matches('/').to_string());

    let region = opts
        .region
        .clone()
        .or_else(|| env.get("AWS_REGION").map(str::to_string))
        .or_else(|| env.get("AWS_DEFAULT_REGION").map(str::to_string))
        .or_else(|| from_profile("region"))
        .unwrap_or_else(|| "us-east-1".into());

    let profile_creds = || {
        Some(Credentials {
            access_key_id: from_profile("aws_access_key_id")?,
            secret_access_key: from_profile("aws_secret_access_key")?,
            session_token: from_profile("aws_session_token"),
        })
    };
    let env_creds = || {
        Some(Credentials {
            access_key_id: env.get("AWS_ACCESS_KEY_ID")?.to_string(),
            secret_access_key: env.get("AWS_SECRET_ACCESS_KEY")?.to_string(),
            session_token: env.get("AWS_SESSION_TOKEN").map(str::to_string),
        })
    };
    // A profile named by flag is the user's latest word; otherwise the
    // environment beats the files, as in the AWS tools.
    let credentials = if opts.profile.is_some() {
        profile_creds()
            .map(|c| (c, format!("keys from profile {profile_name}")))
            .or_else(|| env_creds().map(|c| (c, "keys from AWS_* environment".into())))
    } else {
        env_creds()
            .map(|c| (c, "keys from AWS_* environment".to_string()))
            .or_else(|| profile_creds().map(|c| (c, format!("keys from profile {profile_name}"))))
    };
    match &credentials {
        Some((_, origin)) => origins.push(origin.clone()),
        None => origins.push("no keys found: unsigned requests".into()),
    }
    let allow_http = opts.allow_http
        || env
            .get("AWS_ALLOW_HTTP")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
    Ok(S3Settings {
        endpoint,
        region,
        credentials: credentials.map(|(c, _)| c),
        allow_http,
        origins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_home(config: &str, credentials: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
        std::fs::write(dir.path().join(".aws/config"), config).unwrap();
        std::fs::write(dir.path().join(".aws/credentials"), credentials).unwrap();
        dir
    }

    const CONFIG: &str = "[default]\nregion = us-west-2\n\n[profile sakura]\nregion = jp-north-1\nendpoint_url = https://s3.isk01.sakurastorage.jp\n\n[profile nested]\ns3 =\n  endpoint_url = http://127.0.0.1:9000\nregion=x\n";
    const CREDS: &str = "# keys\n[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = s3cr3t-default\n[sakura]\naws_access_key_id=AKSAKURA\naws_secret_access_key=s3cr3t-sakura\naws_session_token = tok\n";

    #[test]
    fn profile_from_flag_supplies_region_endpoint_and_keys() {
        let home = write_home(CONFIG, CREDS);
        let env = Environment::from_pairs([("HOME", home.path().to_str().unwrap())]);
        let opts = StorageOptions {
            profile: Some("sakura".into()),
            ..Default::default()
        };
        let s = resolve(&opts, &env, None).unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("https://s3.isk01.sakurastorage.jp"));
        assert_eq!(s.region, "jp-north-1");
        let c = s.credentials.clone().unwrap();
        assert_eq!(c.access_key_id, "AKSAKURA");
        assert_eq!(c.session_token.as_deref(), Some("tok"));
        let shown = format!("{} {:?}", s.describe(), s);
        assert!(!shown.contains("s3cr3t") && !shown.contains("tok\""), "{shown}");
    }

    #[test]
    fn environment_beats_default_profile_and_flags_beat_environment() {
        let home = write_home(CONFIG, CREDS);
        let env = Environment::from_pairs([
            ("HOME", home.path().to_str().unwrap()),
            ("AWS_ACCESS_KEY_ID", "AKENV"),
            ("AWS_SECRET_ACCESS_KEY", "envsecret"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "http://localhost:1234"),
        ]);
        let s = resolve(&StorageOptions::default(), &env, None).unwrap();
        assert_eq!(s.credentials.unwrap().access_key_id, "AKENV");
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(s.endpoint.as_deref(), Some("http://localhost:1234"));
        assert!(s.allow_http);
        let opts = StorageOptions {
            region: Some("jp-north-1".into()),
            endpoint: Some("https://flag.example".into()),
            ..Default::default()
        };
        let s = resolve(&opts, &env, None).unwrap();
        assert_eq!(
            (s.region.as_str(), s.endpoint.as_deref()),
            ("jp-north-1", Some("https://flag.example"))
        );
        let s = resolve(&opts, &env, Some("https://url.example")).unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("https://url.example"));
    }

    #[test]
    fn aws_profile_variable_and_nested_endpoint() {
        let home = write_home(CONFIG, CREDS);
        let env = Environment::from_pairs([("HOME", home.path().to_str().unwrap()), ("AWS_PROFILE", "nested")]);
        let s = resolve(&StorageOptions::default(), &env, None).unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s.region, "x");
        assert!(s.credentials.is_none());
    }

    #[test]
    fn unknown_profile_is_an_error_and_no_keys_means_unsigned() {
        let home = write_home(CONFIG, CREDS);
        let env = Environment::from_pairs([("HOME", home.path().to_str().unwrap())]);
        let opts = StorageOptions {
            profile: Some("nope".into()),
            ..Default::default()
        };
        let e = resolve(&opts, &env, None).unwrap_err().to_string();
        assert!(e.contains("profile \"nope\" not found"), "{e}");
        let empty = Environment::from_pairs([("HOME", "/nonexistent")]);
        let s = resolve(&StorageOptions::default(), &empty, None).unwrap();
        assert!(s.credentials.is_none());
        assert_eq!(s.region, "us-east-1");
    }
}
