"""pylti1p3, fitted to DreamSeed: registrations read from the school's schema, launch state in the
(schema-prefixed) cache, and a launch validation that is stricter than the library's.

What this adds to pylti1p3's checks, and why:
- the nonce is single-use: pylti1p3 only checks it exists, so the same id_token and state could
  be posted twice; here it is deleted atomically (Redis DEL) on first use;
- the id_token must carry `exp`, `iat`, `iss`, `aud`, `sub` and `nonce`; `aud` must contain our
  client id (and `azp` name it when there are several audiences); `iat` may not be in the future
  or older than MAX_ID_TOKEN_AGE (small clock skew tolerated); only RS256;
- the platform's key set is cached, and fetched again (at most every JWKS_REFETCH_SECONDS) when a
  token names a kid we have not seen, so a platform's key rotation does not break launches;
- every failure is a LaunchRejected with a code the error page explains; nothing is written to
  the database before validation has passed.
"""

import hashlib
import json
import secrets
import time
from urllib.parse import parse_qsl, urlsplit

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from jwcrypto.jwk import JWK
from pylti1p3.actions import Action
from pylti1p3.contrib.django import DjangoCacheDataStorage, DjangoMessageLaunch, DjangoOIDCLogin
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.registration import Registration
from pylti1p3.service_connector import REQUESTS_USER_AGENT, ServiceConnector
from pylti1p3.tool_config import ToolConfAbstract

from dreamseed.core.outbound import OutboundSession
from dreamseed.lti.framing import SESSION_PARTITIONED
from dreamseed.lti.keys import JWT_ALGORITHM, tool_key_active
from dreamseed.lti.models import LtiDeployment, LtiPlatform

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_MESSAGE_TYPE = CLAIM + "message_type"
CLAIM_DEPLOYMENT = CLAIM + "deployment_id"
CLAIM_TARGET_LINK = CLAIM + "target_link_uri"
CLAIM_RESOURCE_LINK = CLAIM + "resource_link"
CLAIM_CONTEXT = CLAIM + "context"
CLAIM_ROLES = CLAIM + "roles"
CLAIM_CUSTOM = CLAIM + "custom"
CLAIM_AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
CLAIM_DEEP_LINKING = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"

CLOCK_SKEW_SECONDS = 60
MAX_ID_TOKEN_AGE_SECONDS = 10 * 60
JWKS_CACHE_SECONDS = 60 * 60
JWKS_REFETCH_SECONDS = 30
# Nonces, state and the launch itself (read again by the deep-linking picker) live this long.
LAUNCH_DATA_SECONDS = 2 * 60 * 60
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "nonce"]
# LMS access tokens last an hour (Canvas, Moodle); keep ours well inside that.
ACCESS_TOKEN_CACHE_SECONDS = 5 * 60


class LaunchRejected(Exception):
    """A login or launch that cannot go on. `code` picks the explanation on the error page."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


# --- HTTP to the LMS ------------------------------------------------------------------------------


class _LmsSession(OutboundSession):
    """Every request to an LMS (key sets, tokens, grades, rosters) goes through the outbound
    policy: its URLs come from a school's registration or from launch claims. pylti1p3 calls
    requests without a timeout; an LMS that hangs must not hang us."""

    def request(self, method, url, **kwargs):
        kwargs.setdefault(
            "timeout",
            (settings.OUTBOUND_CONNECT_TIMEOUT_SECONDS, settings.LTI_HTTP_TIMEOUT_SECONDS),
        )
        return super().request(method, url, **kwargs)


def http_session() -> requests.Session:
    session = _LmsSession()
    session.headers["User-Agent"] = f"DreamSeed {REQUESTS_USER_AGENT}"
    session.last_status = None
    session.hooks["response"].append(lambda response, *args, **kwargs: _remember(session, response))
    return session


def _remember(session, response) -> None:
    session.last_status = response.status_code


class CachedTokenConnector(ServiceConnector):
    """pylti1p3's service connector, with the platform's access tokens kept in the cache for a
    few minutes (each task would otherwise ask for a new token per grade or roster page)."""

    def __init__(self, registration: Registration, platform: LtiPlatform):
        super().__init__(registration, http_session())
        self._token_key = f"lti-token:{platform.pk}:{platform.client_id}:"

    @property
    def last_status(self) -> int | None:
        return self._requests_session.last_status

    def _key(self, scopes) -> str:
        return self._token_key + hashlib.sha256("|".join(sorted(scopes)).encode()).hexdigest()

    def get_access_token(self, scopes) -> str:
        token = cache.get(self._key(scopes))
        if token:
            return token
        token = super().get_access_token(scopes)
        cache.set(self._key(scopes), token, ACCESS_TOKEN_CACHE_SECONDS)
        return token

    def forget_token(self, scopes) -> None:
        cache.delete(self._key(scopes))


def _jwks_cache_key(url: str) -> str:
    return "lti-jwks:" + hashlib.sha256(url.encode()).hexdigest()


def platform_jwks(url: str, *, refresh: bool = False) -> dict:
    """The platform's key set, from the cache unless `refresh`."""
    key = _jwks_cache_key(url)
    if not refresh:
        cached = cache.get(key)
        if cached is not None:
            return cached
    try:
        response = http_session().get(url)
        response.raise_for_status()
        keys = response.json()
    except (requests.RequestException, ValueError) as error:
        raise LtiException(f"Could not fetch the platform's key set from {url}: {error}") from error
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        raise LtiException(f"The platform's key set at {url} is not a JWKS")
    cache.set(key, keys, JWKS_CACHE_SECONDS)
    return keys


def _matching_key(keys: dict, kid: str, alg: str) -> dict | None:
    for key in keys.get("keys", []):
        if key.get("kid") == kid and key.get("alg", JWT_ALGORITHM) == alg:
            return key
    return None


# --- Registrations from the school's schema -------------------------------------------------------


def registration_for(platform: LtiPlatform) -> Registration:
    key = tool_key_active()
    registration = (
        Registration()
        .set_issuer(platform.issuer)
        .set_client_id(platform.client_id)
        .set_key_set_url(platform.key_set_url)
        .set_auth_login_url(platform.auth_login_url)
        .set_auth_token_url(platform.auth_token_url)
        .set_tool_private_key(key.private_pem)
        .set_tool_public_key(key.public_pem)
    )
    if platform.auth_audience:
        registration.set_auth_audience(platform.auth_audience)
    return registration


class SchoolToolConf(ToolConfAbstract):
    """pylti1p3's view of this school's LtiPlatform rows (several client ids per issuer)."""

    def __init__(self):
        super().__init__()
        self._found: dict[tuple[str, str | None], LtiPlatform | None] = {}

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def platform(self, iss: str | None, client_id: str | None, *, any_client: bool = False):
        """The registration for iss + client id. With `any_client` and no client id (login
        initiation, where client_id is optional), the issuer's only registration."""
        if not iss or not isinstance(iss, str):
            return None
        if client_id is not None and not isinstance(client_id, str):
            return None
        cache_key = (iss, client_id)
        if cache_key not in self._found:
            platforms = LtiPlatform.objects.filter(issuer=iss, approved=True)
            if client_id:
                found = platforms.filter(client_id=client_id).first()
            elif any_client:
                candidates = list(platforms[:2])
                found = candidates[0] if len(candidates) == 1 else None
            else:
                found = None
            self._found[cache_key] = found
        return self._found[cache_key]

    def find_registration_by_issuer(self, iss, *args, **kwargs):
        return self.find_registration_by_params(iss, None, *args, **kwargs)

    def find_registration_by_params(self, iss, client_id, *args, **kwargs):
        any_client = kwargs.get("action") == Action.OIDC_LOGIN
        platform = self.platform(iss, client_id, any_client=any_client)
        return registration_for(platform) if platform else None

    def find_deployment(self, iss, deployment_id):
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
        platform = self.platform(iss, client_id)
        if platform is None or not isinstance(deployment_id, str):
            return None
        if not LtiDeployment.objects.filter(
            platform=platform, deployment_id=deployment_id
        ).exists():
            return None
        return Deployment().set_deployment_id(deployment_id)


# --- Launch state in the cache --------------------------------------------------------------------


class LaunchStorage(DjangoCacheDataStorage):
    """pylti1p3's cache storage (keys already schema-prefixed by the cache key function) that can
    also take a value out atomically, for single-use nonces."""

    def consume(self, key: str) -> bool:
        return bool(self._get_cache().delete(self._prepare_key(key)))


def launch_storage() -> LaunchStorage:
    return LaunchStorage(cache_name="default")


class CookielessLaunchStorage(LaunchStorage):
    """For logins whose state lives in the platform's storage: no `session-id` cookie to key
    the nonce by (the frame keeps none). Nonces are 64 random hex digits, single use."""

    def get_session_cookie_name(self):
        return None


# --- Platform storage (1EdTech LTI Client Side postMessages) --------------------------------------
#
# When the LMS names a `lti_storage_target` (Canvas does), the login page in the LMS's frame
# stores the state and nonce in the LMS with `lti.put_data`, instead of a cookie the browser may
# drop. At the launch, a page of ours reads them back with `lti.get_data` and, if they match,
# posts the launch again from DreamSeed's own origin. The server trusts that second post only
# (a) if the browser says it comes from our own origin (an attacker's page cannot make a
# victim's browser send that Origin header), (b) for a state this server issued for platform
# storage, once, and (c) with the nonce issued with that state, which is then consumed as usual.

STORAGE_STATE_SECONDS = 5 * 60  # as long as pylti1p3's state cookie lives
STORAGE_CHECKED_PARAM = "lti_storage_checked"


def _storage_state_key(state: str) -> str:
    return "lti-storage-state:" + hashlib.sha256(state.encode()).hexdigest()


def storage_state_save(state: str, *, nonce: str, origin: str, target: str) -> None:
    issued = {"nonce": nonce, "origin": origin, "target": target}
    cache.set(_storage_state_key(state), issued, STORAGE_STATE_SECONDS)


def storage_state_get(state: str) -> dict | None:
    found = cache.get(_storage_state_key(state)) if state else None
    return found if isinstance(found, dict) else None


def storage_state_consume(state: str) -> dict | None:
    found = storage_state_get(state)
    if found is None or not cache.delete(_storage_state_key(state)):
        return None  # unknown, or another request took it first
    return found


def storage_target_ok(target: str | None) -> bool:
    """`_parent` or a frame name: short, no markup, nothing to smuggle into the page."""
    return bool(target) and len(target) <= 100 and all(c.isalnum() or c in "_-." for c in target)


# --- Login initiation and launch ------------------------------------------------------------------


class SchoolOIDCLogin(DjangoOIDCLogin):
    def __init__(self, request, tool_conf: SchoolToolConf):
        super().__init__(request, tool_conf)
        # Set here rather than handed to pylti1p3, which would attach it only at redirect time,
        # after it is too late to change the lifetime of what it stores.
        self.set_launch_data_storage(launch_storage())
        self.set_launch_data_lifetime(LAUNCH_DATA_SECONDS)

    def platform(self) -> LtiPlatform | None:
        """The registration this login initiation names (after validate_oidc_login)."""
        return self._tool_config.platform(
            self._get_request_param("iss"),
            self._get_request_param("client_id") or None,
            any_client=True,
        )

    def check(self) -> LtiPlatform:
        """Validate the login initiation without side effects; raise LaunchRejected."""
        try:
            self.validate_oidc_login()
        except OIDCException as error:
            code = "registration" if "registration" in str(error) else "login"
            raise LaunchRejected(code, str(error)) from error
        platform = self.platform()
        deployment_id = self._get_request_param("lti_deployment_id")
        if deployment_id and deployment_id not in platform.deployment_id_list:
            raise LaunchRejected("deployment", f"unknown deployment {deployment_id!r}")
        return platform

    def prepare_for_platform_storage(self, launch_url: str, *, origin: str, target: str) -> dict:
        """The authorization request for a login whose state and nonce the page will keep in
        the platform's storage: {"url", "state", "nonce"}. The nonce is stored without the
        `session-id` cookie, and the state is remembered as issued for platform storage."""
        self.set_launch_data_storage(CookielessLaunchStorage(cache_name="default"))
        self.set_launch_data_lifetime(LAUNCH_DATA_SECONDS)
        url = self._prepare_redirect_url(launch_url)
        query = dict(parse_qsl(urlsplit(url).query))
        storage_state_save(query["state"], nonce=query["nonce"], origin=origin, target=target)
        return {"url": url, "state": query["state"], "nonce": query["nonce"]}


class SchoolMessageLaunch(DjangoMessageLaunch):
    """A launch validated in a fixed order, with the stricter checks described above."""

    def __init__(self, request, tool_conf: SchoolToolConf, *, storage: LaunchStorage):
        self._storage = storage
        self._host = request.get_host().split(":")[0].lower()
        super().__init__(
            request, tool_conf, launch_data_storage=storage, requests_session=http_session()
        )
        self.set_launch_data_lifetime(LAUNCH_DATA_SECONDS)

    @classmethod
    def for_request(
        cls, request, tool_conf: SchoolToolConf, *, storage_checked: bool = False
    ) -> "SchoolMessageLaunch":
        """`storage_checked`: the launch page read the state back from the platform's storage
        (the caller has checked the post comes from our own origin)."""
        try:
            if storage_checked:
                launch = cls(request, tool_conf, storage=CookielessLaunchStorage("default"))
                launch._storage_checked = True
                return launch
            return cls(request, tool_conf, storage=launch_storage())
        except LtiException as error:
            # Over HTTPS the launch state is keyed by pylti1p3's session cookie: no cookie, no
            # launch (the browser dropped it in the LMS's frame).
            raise LaunchRejected("cookies", str(error)) from error

    @classmethod
    def restore(cls, request, tool_conf: SchoolToolConf, launch_id: str) -> "SchoolMessageLaunch":
        """A validated launch, read back from the cache (the deep-linking picker's POST). A
        session that began with a platform-storage launch has no `session-id` cookie: its
        launch was stored without one (launch ids are random; the picker checks the user)."""
        storage_checked = bool(request.session.get(SESSION_PARTITIONED))
        launch = cls.for_request(request, tool_conf, storage_checked=storage_checked)
        body = launch.get_session_service().get_launch_data(launch_id)
        if not body:
            raise LaunchRejected("expired", "launch data not found")
        launch.set_launch_id(launch_id).set_auto_validation(enable=False).set_jwt({"body": body})
        launch.set_restored()
        try:
            launch.validate_registration()
        except LtiException as error:
            raise LaunchRejected("registration", str(error)) from error
        return launch

    def validate(self):
        if self._restored:
            raise LtiException("Can't validate restored launch")
        steps = (
            ("token", self.validate_jwt_format),
            ("state", self.validate_state),
            ("message", self.validate_shape),
            ("registration", self.validate_registration),
            ("signature", self.validate_jwt_signature),
            ("deployment", self.validate_deployment),
            ("message", self.validate_message),
            ("message", self.validate_target),
            ("replay", self.validate_nonce),
        )
        self._validated = True
        try:
            for code, step in steps:
                try:
                    step()
                except LaunchRejected:
                    raise
                except (LtiException, AssertionError, KeyError, TypeError, ValueError) as error:
                    raise LaunchRejected(code, str(error)) from error
            self.save_launch_data()
        except Exception:
            self._validated = False
            raise
        return self

    def validate_jwt_format(self):
        super().validate_jwt_format()
        if not isinstance(self._jwt.get("header"), dict) or not isinstance(
            self._jwt.get("body"), dict
        ):
            raise LtiException("The id_token is not a JSON object")
        return self

    def validate_shape(self):
        """An LTI 1.3 message at all? (Before looking up keys: a clear error for, say, an
        OpenID id_token or an LTI 1.1 launch posted here.)"""
        body = self._jwt["body"]
        missing = [claim for claim in ("iss", "aud", "sub") if not body.get(claim)]
        if missing:
            raise LtiException(f"The id_token has no {', '.join(missing)}")
        if body.get(CLAIM + "version") != "1.3.0":
            raise LtiException("Incorrect version, expected 1.3.0")
        for claim in (CLAIM_MESSAGE_TYPE, CLAIM_DEPLOYMENT):
            if not body.get(claim):
                raise LtiException(f"Missing {claim}")
        return self

    _storage_checked = False

    def validate_state(self):
        state = self._get_request_param("state")
        if not state:
            raise LtiException("Missing state param")
        if self._storage_checked:
            issued = storage_state_consume(state)
            if issued is None:
                raise LtiException("This state was not issued for platform storage, or was used")
            if not secrets.compare_digest(
                str(self._jwt["body"].get("nonce", "")), str(issued["nonce"])
            ):
                raise LtiException("The id_token's nonce is not the one issued with this state")
            return self
        if self._session_service.check_state_is_valid(state, self._get_id_token_hash()):
            return self
        from_cookie = self._cookie_service.get_cookie(state)
        if from_cookie is None:
            raise LaunchRejected("cookies", "the state cookie did not come back")
        if from_cookie != state:
            raise LtiException("State not found")
        return self

    def fetch_public_key(self, key_set_url: str):
        # pylti1p3's own fetch uses a bare requests call: ours goes through the outbound policy
        # and the cache (get_public_key below does not call this; kept for pylti1p3's callers).
        return platform_jwks(key_set_url)

    def get_public_key(self):
        assert self._registration is not None, "Registration not yet set"
        header = self._jwt.get("header", {})
        kid, alg = header.get("kid"), header.get("alg")
        if not kid:
            raise LtiException("JWT KID not found")
        if alg != JWT_ALGORITHM:
            raise LtiException(f"Unsupported JWT algorithm {alg!r}")
        url = self._registration.get_key_set_url()
        key = _matching_key(platform_jwks(url), kid, alg)
        if key is None and cache.add(_jwks_cache_key(url) + ":refetched", 1, JWKS_REFETCH_SECONDS):
            key = _matching_key(platform_jwks(url, refresh=True), kid, alg)
        if key is None:
            raise LtiException("Unable to find public key")
        try:
            return JWK.from_json(json.dumps(key)).export_to_pem(), alg
        except (ValueError, TypeError) as error:
            raise LtiException("Can't convert JWT key to PEM format") from error

    def validate_jwt_signature(self):
        assert self._registration is not None, "Registration not yet set"
        public_key, alg = self.get_public_key()
        client_id = self._registration.get_client_id()
        try:
            body = jwt.decode(
                self._get_id_token(),
                public_key,
                algorithms=[alg],
                audience=client_id,
                issuer=self._registration.get_issuer(),
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError as error:
            raise LtiException(f"Can't decode id_token: {error}") from error
        if body["iat"] < time.time() - MAX_ID_TOKEN_AGE_SECONDS - CLOCK_SKEW_SECONDS:
            raise LtiException("The id_token was issued too long ago")
        audiences = body["aud"] if isinstance(body["aud"], list) else [body["aud"]]
        if len(audiences) > 1 and body.get("azp") != client_id:
            raise LtiException("azp must name our client id when there are several audiences")
        if "azp" in body and body["azp"] != client_id:
            raise LtiException("azp is not our client id")
        return self

    def validate_target(self):
        """The target_link_uri, when sent, must be on this school's host (LTI 1.3 §5.1.1.5)."""
        target = self._get_jwt_body().get(CLAIM_TARGET_LINK)
        if target is None:
            return self
        host = (urlsplit(str(target)).hostname or "").lower()
        if host != self._host:
            raise LtiException(f"target_link_uri {target!r} is not on this school's host")
        return self

    def validate_nonce(self):
        nonce = self._get_jwt_body().get("nonce")
        if not nonce or not isinstance(nonce, str):
            raise LtiException('"nonce" is empty')
        if not self._storage.consume(self._session_service._get_key("nonce", nonce)):
            raise LtiException("This launch's nonce is unknown or was already used")
        return self

    def platform(self) -> LtiPlatform:
        body = self._get_jwt_body()
        return self._tool_config.platform(body.get("iss"), self.get_client_id())

    def registration(self) -> Registration:
        assert self._registration is not None
        return self._registration
