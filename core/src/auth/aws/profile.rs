//! The AWS shared config and credentials files (`~/.aws/config`,
//! `~/.aws/credentials`): INI sections of `key = value` lines. In the config file a
//! profile's section is `[profile NAME]` (`[default]` for the default one); in the
//! credentials file it is `[NAME]`. Indented lines continue a nested block (`s3 =`
//! sub-settings) and are skipped, as are comments.

use std::collections::BTreeMap;

/// Every section of a file, by profile name; keys are lower-cased.
pub(crate) type Profiles = BTreeMap<String, BTreeMap<String, String>>;

/// Parses a file; `config` says whether sections are `[profile NAME]`.
/// The profile the SDKs use (`AWS_PROFILE`, else `AWS_DEFAULT_PROFILE`, else
/// `default`) and the config file it is read from (`AWS_CONFIG_FILE`, else
/// `~/.aws/config`), from those variables' values.
pub(crate) fn selected(
    aws_profile: Option<String>,
    aws_default_profile: Option<String>,
    aws_config_file: Option<String>,
) -> (String, String) {
    (
        aws_profile.or(aws_default_profile).unwrap_or_else(|| "default".into()),
        aws_config_file.unwrap_or_else(|| "~/.aws/config".into()),
    )
}

pub(crate) fn parse(text: &str, config: bool) -> Profiles {
    let mut out = Profiles::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let section = section.trim();
            current = match (config, section.strip_prefix("profile ")) {
                (true, Some(name)) => Some(name.trim().to_owned()),
                (true, None) if section == "default" => Some("default".to_owned()),
                // Other config sections (`sso-session`, `services`) are not profiles.
                (true, None) => None,
                (false, _) => Some(section.to_owned()),
            };
            if let Some(name) = &current {
                out.entry(name.clone()).or_default();
            }
            continue;
        }
        if let (Some(name), Some((key, value))) = (&current, line.split_once('=')) {
            let value = value.split(" #").next().unwrap_or("").trim();
            out.entry(name.clone()).or_default().insert(key.trim().to_ascii_lowercase(), value.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sections_keys_and_nesting() {
        let config = "[default]\nregion = us-east-1\n[profile deploy]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\ns3 =\n  max_concurrent_requests = 10\n[sso-session x]\nsso_region = eu\n";
        let p = super::parse(config, true);
        assert_eq!(p["default"]["region"], "us-east-1");
        assert_eq!(p["deploy"]["source_profile"], "base");
        assert!(!p["deploy"].contains_key("max_concurrent_requests"));
        assert!(!p.contains_key("sso-session x"));
        let creds = super::parse("[base]\naws_access_key_id = AKIA\n# comment\nAWS_Secret_Access_Key=s\n", false);
        assert_eq!(creds["base"]["aws_secret_access_key"], "s");
    }
}
