/**
 * A chosen endpoint (option, URL host or the SDK's AWS_ENDPOINT_URL_SQS) is where requests go: the SDK
 * must not switch to the host of the queue URLs a stand-in hands out (fauxqs's CLI names
 * sqs.us-east-1.localhost, which does not resolve), so tq turns off useQueueUrlAsEndpoint then.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { resolveBrokerOptions } from "../src/broker-options.js";

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("the endpoint a user chose", () => {
  it("keeps requests on an endpoint given as an option or as the URL's host", () => {
    vi.stubEnv("AWS_ENDPOINT_URL_SQS", "");
    vi.stubEnv("AWS_ENDPOINT_URL", "");
    const fromOption = resolveBrokerOptions({ endpoint: "http://127.0.0.1:4566" }).clientConfig;
    expect(fromOption).toMatchObject({ endpoint: "http://127.0.0.1:4566", useQueueUrlAsEndpoint: false });
    const fromUrl = resolveBrokerOptions({ url: "sqs://k:s@127.0.0.1:9324" }).clientConfig;
    expect(fromUrl).toMatchObject({ endpoint: "http://127.0.0.1:9324", useQueueUrlAsEndpoint: false });
  });

  it("keeps requests on the SDK's AWS_ENDPOINT_URL_SQS, which the SDK reads itself", () => {
    vi.stubEnv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:4566");
    const config = resolveBrokerOptions({ url: "sqs://" }).clientConfig;
    expect(config.endpoint).toBeUndefined();
    expect(config.useQueueUrlAsEndpoint).toBe(false);
  });

  it("leaves the SDK's default alone on AWS itself", () => {
    vi.stubEnv("AWS_ENDPOINT_URL_SQS", "");
    vi.stubEnv("AWS_ENDPOINT_URL", "");
    expect(resolveBrokerOptions({ url: "sqs://" }).clientConfig).not.toHaveProperty("useQueueUrlAsEndpoint");
  });
});
