import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.model.SimpleRequest;
import com.atlassian.oai.validator.model.SimpleResponse;
import com.atlassian.oai.validator.report.ValidationReport;

/**
 * Neon's published OpenAPI spec (public-v2-for-users.gen.yaml from the npm package
 * {@code @neondatabase/api-client}), used to check every request the client sends and every answer
 * {@link FakeNeonApi} gives. The file comes from {@code $NEON_API_SPEC}, else
 * {@code target/neon-api-spec/package/public-v2-for-users.gen.yaml} (where {@code .ci/run} unpacks it);
 * when it is absent the check is skipped, and says so.
 */
final class NeonSpec {
    static final Path DEFAULT = Path.of("target", "neon-api-spec", "package", "public-v2-for-users.gen.yaml");
    private static OpenApiInteractionValidator validator;
    private static boolean loaded;

    private NeonSpec() {}

    static Path file() {
        String env = System.getenv("NEON_API_SPEC");
        return env != null && !env.isEmpty() ? Path.of(env) : DEFAULT;
    }

    /** The validator, or null when the spec file is absent. */
    static synchronized OpenApiInteractionValidator validator() {
        if (!loaded) {
            loaded = true;
            Path f = file();
            if (Files.isRegularFile(f)) {
                validator = OpenApiInteractionValidator.createForSpecificationUrl(f.toUri().toString())
                        .withBasePathOverride("/api/v2")
                        .withStrictOperationPathMatching()
                        .withResolveCombinators(true)   // allOf parts each forbid the others' properties
                        .build();
            }
        }
        return validator;
    }

    /** Spec violations of the logged exchanges (empty when all match). */
    static List<String> check(List<FakeNeonApi.Request> log) {
        OpenApiInteractionValidator v = validator();
        List<String> problems = new ArrayList<>();
        for (FakeNeonApi.Request r : log) {
            SimpleRequest.Builder rb = new SimpleRequest.Builder(r.method(), "/api/v2" + r.path());
            for (Map.Entry<String, List<String>> e : FakeNeonApi.queryParams(r.query()).entrySet()) {
                rb.withQueryParam(e.getKey(), e.getValue());
            }
            for (Map.Entry<String, List<String>> e : r.headers().entrySet()) {
                rb.withHeader(e.getKey(), e.getValue());
            }
            if (!r.body().isEmpty()) {
                rb.withBody(r.body());
            }
            ValidationReport report;
            if (r.status() < 0) {
                report = v.validateRequest(rb.build());   // dropped: no answer to check
            } else {
                SimpleResponse.Builder sb = SimpleResponse.Builder.status(r.status());
                if (!r.response().isEmpty()) {   // a 204 has no body
                    sb.withContentType("application/json").withBody(r.response());
                }
                report = v.validate(rb.build(), sb.build());
            }
            for (ValidationReport.Message m : report.getMessages()) {
                if (m.getLevel() == ValidationReport.Level.ERROR) {
                    problems.add(r.method() + " " + r.path() + " -> " + r.status() + ": " + m.getKey() + ": "
                            + m.getMessage());
                }
            }
        }
        return problems;
    }
}
