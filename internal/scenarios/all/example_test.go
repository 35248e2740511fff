package all_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// tenantIsolationSpec is the spec docs/writing-scenarios.md adds to an existing suite, inside
// the suite's container as it stands in internal/scenarios/abac/abac.go (there `var _ = fw.Describe(…)`
// at package level). Example_spec runs it.
func tenantIsolationSpec() {
	_ = fw.Describe("Tenant isolation", fw.ABAC, func() {
		// … the suite's other specs …

		fw.ConformanceIt("leaves nothing behind when it refuses a write to another tenant's bucket", fw.Needs(fw.CapAWSAdmin), func() {
			ctx := context.Background()
			t := fw.Current()
			var writer, owner fw.User
			for _, u := range t.Users() {
				switch {
				case u.Tenant == "":
				case writer.Tenant == "":
					writer = u
				case u.Tenant != writer.Tenant && owner.Tenant == "":
					owner = u
				}
			}
			if owner.Tenant == "" {
				Skip("target " + t.Name() + " has users of only one tenant")
			}

			token, err := t.Token(ctx, writer.Name)
			Expect(err).NotTo(HaveOccurred(), "no token for %s", writer.Name)
			c, err := fw.ConnectMCP(ctx, t.MCPURL(), map[string]string{"Authorization": "Bearer " + token})
			Expect(err).NotTo(HaveOccurred(), "%s could not open an MCP session", writer.Name)
			DeferCleanup(c.Close)

			// The write goes through the target's write probe: its own tool for it, mapped in
			// the target file (the reference server's put_object by default).
			key := "mcpsso-example/intrusion.txt"
			r, err := fw.CallProbe(ctx, c, fw.OpWrite, fw.ProbeVars{Bucket: owner.Bucket, Key: key, Content: "intrusion\n"})
			Expect(err).NotTo(HaveOccurred())
			Expect(r.OK()).To(BeFalse(), "%s wrote to tenant %s's bucket: %s", writer.Name, owner.Tenant, r)
			Expect(r.Denied()).To(BeTrue(), "want %s, got %s", r.DenialRule(), r)

			admin, err := t.AdminAWS(t.Accounts()[0])
			Expect(err).NotTo(HaveOccurred())
			_, err = s3.NewFromConfig(admin, func(o *s3.Options) { o.UsePathStyle = true }).
				HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(owner.Bucket), Key: aws.String(key)})
			Expect(err).To(HaveOccurred(), "the refused write left s3://%s/%s behind", owner.Bucket, key)
		})
	})
}

// Example_spec registers the spec of docs/writing-scenarios.md and runs it, with the abac specs
// that need aws-admin, against the embedded reference stack, as `mcpsso conform --label-filter
// 'abac && needs:aws-admin'` would.
func Example_spec() {
	tenantIsolationSpec()
	ctx := context.Background()
	target, err := fw.NewTarget(ctx, "embedded", fw.Options{Profile: "reference"})
	if err != nil {
		log.Fatal(err)
	}
	defer target.Close()
	report, err := fw.RunAll(target, fw.RunConfig{LabelFilter: "abac && needs:aws-admin"})
	if err != nil {
		log.Fatal(err)
	}
	results, _ := fw.Verdict(report, nil)
	for _, r := range results {
		if strings.Contains(r.Spec, "leaves nothing behind") {
			fmt.Println(r.Outcome)
			fmt.Println(r.Spec)
		}
	}
	// Output:
	// passed
	// Tenant isolation [abac] leaves nothing behind when it refuses a write to another tenant's bucket [needs:aws-admin] [conformance]
}
