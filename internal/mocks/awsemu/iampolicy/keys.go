package iampolicy

import "strings"

// Which condition keys an action sees. The Service Authorization Reference lists, per action,
// the service-specific keys (and aws:RequestTag/*, aws:TagKeys, aws:ResourceTag/*) that AWS
// supplies; the global aws: keys are supplied for every action. Whether AWS withholds an
// unlisted key when it evaluates an action is not stated plainly; the engine takes the stricter
// reading (withheld), as @cloud-copilot/iam-simulate does. Actions missing here keep every key.

// globalKeys are the global condition keys (IAM User Guide, reference_policies_condition-keys),
// lower-cased. aws:RequestTag/*, aws:TagKeys and aws:ResourceTag/* are deliberately absent:
// they are per-action keys.
var globalKeys = setOf(
	"aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", "aws:CurrentTime",
	"aws:EpochTime", "aws:FederatedProvider", "aws:MultiFactorAuthAge",
	"aws:MultiFactorAuthPresent", "aws:PrincipalAccount", "aws:PrincipalArn",
	"aws:PrincipalIsAWSService", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
	"aws:PrincipalServiceName", "aws:PrincipalServiceNamesList", "aws:PrincipalType",
	"aws:Referer", "aws:RequestedRegion", "aws:ResourceAccount", "aws:ResourceOrgID",
	"aws:ResourceOrgPaths", "aws:SecureTransport", "aws:SourceAccount", "aws:SourceArn",
	"aws:SourceIdentity", "aws:SourceIp", "aws:SourceOrgID", "aws:SourceOrgPaths",
	"aws:SourceVpc", "aws:SourceVpce", "aws:SourceVpcArn", "aws:TokenIssueTime",
	"aws:UserAgent", "aws:userid", "aws:username", "aws:ViaAWSService", "aws:VpcSourceIp",
	"aws:Ec2InstanceSourceVpc", "aws:Ec2InstanceSourcePrivateIPv4", "aws:ChatbotSourceArn",
	// The network keys of a request through a VPC endpoint: the endpoint owner's account, and
	// its organization's ID and paths.
	"aws:VpceAccount", "aws:VpceOrgID", "aws:VpceOrgPaths",
)

// globalKeyPrefixes are global keys with a variable suffix.
var globalKeyPrefixes = []string{"aws:principaltag/"}

// actionKeys is the key list of one action.
type actionKeys struct {
	keys     map[string]bool
	prefixes []string // e.g. "aws:requesttag/"
}

// s3Common are the keys S3 supplies for every object and bucket operation.
var s3Common = []string{
	"s3:authType", "s3:signatureAge", "s3:signatureversion", "s3:TlsVersion",
	"s3:x-amz-content-sha256", "s3:ResourceAccount", "s3:AccessPointNetworkOrigin",
	"s3:DataAccessPointAccount", "s3:DataAccessPointArn",
}

// knownActionKeys maps lower-cased actions to their keys (Service Authorization Reference:
// AWS Security Token Service and Amazon S3 pages).
var knownActionKeys = map[string]*actionKeys{
	// aws:ResourceTag/* is the role resource type's key (the role's own tags): every action on
	// a role sees it.
	"sts:assumerole": keyList("aws:RequestTag/*", "aws:TagKeys", "sts:ExternalId",
		"sts:RoleSessionName", "sts:SourceIdentity", "sts:TransitiveTagKeys", "aws:ResourceTag/*"),
	"sts:tagsession":          keyList("aws:RequestTag/*", "aws:TagKeys", "sts:TransitiveTagKeys", "saml:aud", "aws:ResourceTag/*"),
	"sts:setsourceidentity":   keyList("sts:SourceIdentity", "aws:ResourceTag/*"),
	"sts:getcalleridentity":   keyList(),
	"s3:getobject":            keyList(append([]string{"s3:ExistingObjectTag/*"}, s3Common...)...),
	"s3:getobjectversion":     keyList(append([]string{"s3:ExistingObjectTag/*", "s3:versionid"}, s3Common...)...),
	"s3:deleteobject":         keyList(s3Common...),
	"s3:putobject":            keyList(append(s3PutKeys, s3Common...)...),
	"s3:listbucket":           keyList(append([]string{"s3:delimiter", "s3:max-keys", "s3:prefix"}, s3Common...)...),
	"s3:createbucket":         keyList(append([]string{"s3:x-amz-acl", "s3:LocationConstraint", "s3:x-amz-object-ownership"}, s3Common...)...),
	"s3:deletebucket":         keyList(s3Common...),
	"s3:getbucketpolicy":      keyList(s3Common...),
	"s3:putbucketpolicy":      keyList(s3Common...),
	"s3:deletebucketpolicy":   keyList(s3Common...),
	"s3:listallmybuckets":     keyList(s3Common...),
	"s3:getbucketlocation":    keyList(s3Common...),
	"cloudtrail:lookupevents": keyList(),
}

var s3PutKeys = []string{
	"s3:RequestObjectTag/*", "s3:RequestObjectTagKeys", "s3:x-amz-acl",
	"s3:x-amz-copy-source", "s3:x-amz-grant-full-control", "s3:x-amz-grant-read",
	"s3:x-amz-grant-read-acp", "s3:x-amz-grant-write", "s3:x-amz-grant-write-acp",
	"s3:x-amz-metadata-directive", "s3:x-amz-server-side-encryption",
	"s3:x-amz-server-side-encryption-aws-kms-key-id", "s3:x-amz-storage-class",
	"s3:x-amz-website-redirect-location", "s3:object-lock-mode",
	"s3:object-lock-retain-until-date", "s3:object-lock-remaining-retention-days",
	"s3:object-lock-legal-hold",
}

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[strings.ToLower(k)] = true
	}
	return m
}

func keyList(keys ...string) *actionKeys {
	ak := &actionKeys{keys: map[string]bool{}}
	for _, k := range keys {
		k = strings.ToLower(k)
		if prefix, ok := strings.CutSuffix(k, "*"); ok {
			ak.prefixes = append(ak.prefixes, prefix)
			continue
		}
		ak.keys[k] = true
	}
	return ak
}

// isGlobalKey reports whether AWS supplies the lower-cased key for every action.
func isGlobalKey(key string) bool {
	if globalKeys[key] {
		return true
	}
	for _, p := range globalKeyPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// supplies reports whether the action (with this key list) sees the lower-cased key.
func (ak *actionKeys) supplies(key string) bool {
	return isGlobalKey(key) || ak.lists(key)
}

// lists reports whether the key list names the lower-cased key; a nil list names every key.
func (ak *actionKeys) lists(key string) bool {
	if ak == nil || ak.keys[key] {
		return true
	}
	for _, p := range ak.prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// keysForAction finds the key list of an action without allocating; nil means unknown.
func keysForAction(action string) *actionKeys {
	var buf [64]byte
	if len(action) > len(buf) {
		return knownActionKeys[strings.ToLower(action)]
	}
	b := buf[:len(action)]
	for i := 0; i < len(action); i++ {
		b[i] = lowerByte(action[i])
	}
	return knownActionKeys[string(b)]
}

// KnownConditionKey reports whether key may exist: a global key, a key listed for some action
// the engine knows, or a key of a service whose actions the engine does not list. It flags keys
// that do not exist, such as the tutorial's sts:TagKeys.
func KnownConditionKey(key string) bool {
	k := strings.ToLower(key)
	if isGlobalKey(k) {
		return true
	}
	service, _, _ := strings.Cut(k, ":")
	if service != "aws" && service != "sts" && service != "s3" || strings.HasPrefix(k, "aws:resourcetag/") {
		return true
	}
	for _, ak := range knownActionKeys {
		if ak.keys[k] {
			return true
		}
		for _, p := range ak.prefixes {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
	}
	return false
}
