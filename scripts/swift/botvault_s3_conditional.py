"""
Conditional and checksummed object PUTs for the test Swift's s3api.

OpenStack Swift 2.30 (Debian 12) answers every conditional S3 PutObject with
501 NotImplemented ("Conditional object PUTs are not supported", in
s3api/s3request.py) and ignores x-amz-checksum-sha256. Amazon S3 honours
both (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html),
and BotVault's write path relies on them, so the versioned test server has to
as well, or its tests prove nothing. This filter, placed in the proxy
pipeline right after s3api, makes Swift's S3 API do what S3 does for a
PutObject and for CompleteMultipartUpload:

- `If-None-Match: *`: 412 PreconditionFailed when the key has a current object;
- `If-Match: <etag>`: 412 when there is none or its ETag differs;
- `x-amz-checksum-sha256` (PutObject): 400 BadDigest when the body does not
  hash to it, and the checksum is echoed in the response, as S3 does.

Check and write are one step per key (a lock held across both, shared by the
two operations), so two concurrent conditional writers of one key cannot both
succeed.

s3api 2.30's schema for the CompleteMultipartUpload body predates S3's
additional checksums: a part listed with its `<ChecksumCRC64NVME>` (as S3
documents and BotVault sends) is MalformedXML. The filter takes the checksum
elements out of that body before s3api validates it; it does not verify the
full-object CRC-64/NVME (s3rver's wrapper does, test/simulators/s3-server.ts).
Installed and wired by scripts/swift-s3.sh.
"""
import base64
import hashlib
import io
import re

from eventlet.semaphore import Semaphore

from swift.common.middleware.s3api import s3request
from swift.common.middleware.s3api.controllers import multi_upload, obj
from swift.common import swob
from swift.common.middleware.s3api.s3response import BadDigest, ErrorResponse, NoSuchKey, PreconditionFailed
from swift.common.registry import register_swift_info

_CONDITIONS = ('HTTP_IF_MATCH', 'HTTP_IF_NONE_MATCH')


class XAmzContentSHA256Mismatch(ErrorResponse):
    # S3's answer when the body does not hash to the signed x-amz-content-sha256 (s3api's HashingInput
    # raises a bare 422 for it, which reading the body here would otherwise turn into a 500).
    _status = '400 Bad Request'
    _msg = 'The provided x-amz-content-sha256 header does not match what was computed.'
_locks = {}


def _lock_for(path):
    lock = _locks.get(path)
    if lock is None:
        lock = _locks[path] = Semaphore(1)
    return lock


_original_validate = s3request.S3Request._validate_headers


def _validate_headers(self):
    # s3api refuses conditional PUTs while validating; take the two headers out for that check only
    # (they stay in the request, and in the string to sign, which is computed after it).
    held = {}
    if self.method == 'PUT':
        held = {k: self.environ.pop(k) for k in _CONDITIONS if k in self.environ}
    try:
        _original_validate(self)
    finally:
        self.environ.update(held)


def _read_body(req):
    # Reading it runs s3api's check of the signed payload hash (x-amz-content-sha256), on the body as it was sent.
    try:
        return req.environ['wsgi.input'].read()
    except swob.HTTPException as err:
        if err.status_int == 422:
            raise XAmzContentSHA256Mismatch()
        raise


def _replace_body(req, body):
    req.environ['wsgi.input'] = io.BytesIO(body)
    req.environ['CONTENT_LENGTH'] = str(len(body))


_original_put = obj.ObjectController.PUT


def _normalize(etag):
    return etag.strip().strip('"')


def _check_condition(self, req, if_match, if_none_match):
    """Raises PreconditionFailed unless the key's current object satisfies the condition; call with its lock held."""
    try:
        current = req.get_response(self.app, 'HEAD')
        etag = _normalize(current.headers.get('ETag', ''))
    except NoSuchKey:
        etag = None
    if if_none_match is not None and if_none_match.strip() == '*' and etag is not None:
        raise PreconditionFailed()
    if if_match is not None and (etag is None or _normalize(if_match) != etag):
        raise PreconditionFailed()


def _put(self, req):
    if_match = req.environ.pop('HTTP_IF_MATCH', None)
    if_none_match = req.environ.pop('HTTP_IF_NONE_MATCH', None)
    checksum = req.headers.get('x-amz-checksum-sha256')
    if checksum is not None:
        body = _read_body(req)
        if base64.b64encode(hashlib.sha256(body).digest()).decode() != checksum.strip():
            raise BadDigest('The SHA256 you specified did not match the calculated checksum.')
        _replace_body(req, body)
    if if_match is None and if_none_match is None:
        resp = _original_put(self, req)
    else:
        with _lock_for(req.path):
            _check_condition(self, req, if_match, if_none_match)
            resp = _original_put(self, req)
    if checksum is not None:
        resp.headers['x-amz-checksum-sha256'] = checksum.strip()
    return resp


_original_complete = multi_upload.UploadController.POST


_CHECKSUM_ELEMENTS = re.compile(rb'<(Checksum[A-Za-z0-9]*)>[^<]*</\1>')


def _without_checksums(req):
    _replace_body(req, _CHECKSUM_ELEMENTS.sub(b'', _read_body(req)))
    # A Content-MD5 named the body as sent, not this one.
    req.environ.pop('HTTP_CONTENT_MD5', None)


def _complete(self, req):
    _without_checksums(req)
    # s3api would pass the two headers down to the manifest's own PUT, where Swift reads them
    # differently (If-Match against the upload's parts): taken out and checked here instead, as S3 does.
    if_match = req.environ.pop('HTTP_IF_MATCH', None)
    if_none_match = req.environ.pop('HTTP_IF_NONE_MATCH', None)
    if if_match is None and if_none_match is None:
        return _original_complete(self, req)
    with _lock_for(req.path):
        _check_condition(self, req, if_match, if_none_match)
        return _original_complete(self, req)


obj.ObjectController.PUT = obj.public(_put) if hasattr(obj, 'public') else _put
multi_upload.UploadController.POST = multi_upload.public(_complete) if hasattr(multi_upload, 'public') else _complete
s3request.S3Request._validate_headers = _validate_headers


def filter_factory(global_conf, **local_conf):
    # The patches above are the whole filter: it only has to be loaded by the pipeline.
    # Listed in /info, where scripts/swift-s3.sh checks for it.
    # The operations it covers are listed too, so a proxy still running an older copy of it is restarted.
    register_swift_info('botvault_s3_conditional', operations=['PutObject', 'CompleteMultipartUpload'])

    def factory(app):
        return app

    return factory
